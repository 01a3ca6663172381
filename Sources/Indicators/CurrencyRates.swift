/// The dashboard's reporting currency and the rates orders in other currencies are converted at.
/// With no reporting currency, amounts are summed as given (a shop selling in one currency). A
/// value type; thread-safe.
public struct CurrencyRates: Sendable, Hashable, Codable {
  /// ISO 4217 code the amounts are reported in; empty: amounts are not converted.
  public var reporting: String
  /// Units of `reporting` per unit of each other currency (`["EUR": 0.86]` when reporting in GBP).
  public var rates: [String: Double]

  /// Rates for `reporting`.
  public init(reporting: String = "", rates: [String: Double] = [:]) {
    self.reporting = reporting
    self.rates = rates
  }

  /// The factor from `currency` to the reporting currency; nil when there is no rate for it.
  public func factor(from currency: String) -> Double? {
    if reporting.isEmpty || currency == reporting { return 1 }
    return rates[currency]
  }
}
