import FunnelCore

/// An order change as a transport decodes it, before validation.
public struct OrderInput: Sendable {
  public var orderID: String
  /// nil when unspecified or unknown on the wire; `stateLabel` names it for the error.
  public var state: OrderState?
  public var stateLabel: String
  public var customerID: String
  public var amount: Double
  public var currency: String
  public var lines: [OrderLineInput]
  public var country: String
  public var source: String
  /// Unix ms; 0 means now.
  public var timestampMs: Int64

  /// Creates an input.
  public init(orderID: String, state: OrderState?, stateLabel: String? = nil, customerID: String = "", amount: Double,
              currency: String, lines: [OrderLineInput] = [], country: String = "", source: String = "", timestampMs: Int64 = 0) {
    self.orderID = orderID
    self.state = state
    self.stateLabel = stateLabel ?? state?.rawValue ?? "unspecified"
    self.customerID = customerID
    self.amount = amount
    self.currency = currency
    self.lines = lines
    self.country = country
    self.source = source
    self.timestampMs = timestampMs
  }
}

/// One line of an `OrderInput`.
public struct OrderLineInput: Sendable {
  public var itemID: String
  /// 0 means 1.
  public var quantity: UInt32
  public var unitPrice: Double
  public var category: String

  /// Creates a line.
  public init(itemID: String, quantity: UInt32 = 1, unitPrice: Double, category: String = "") {
    self.itemID = itemID
    self.quantity = quantity
    self.unitPrice = unitPrice
    self.category = category
  }
}

extension RequestValidator {
  /// Lines an order may have.
  public static let maxOrderLines = 1_000
  /// Largest order amount accepted (in any currency).
  public static let maxOrderAmount = 1e12

  /// Validates one order change as of `nowMs` (the same time window as events); returns the change
  /// to count, or throws `invalidArgument` naming the field.
  public func validate(_ input: OrderInput, nowMs: Int64, configuration: ServingConfiguration) throws -> OrderEvent {
    guard (1...128).contains(input.orderID.utf8.count) else { throw FunnelError.invalidArgument(field: "order_id", "must be 1...128 bytes") }
    try checkID(input.orderID, field: "order_id", required: true)
    guard let state = input.state else {
      throw FunnelError.invalidArgument(field: "state", "\(input.stateLabel) is not an order state (use created, paid, cancelled or refunded)")
    }
    try checkID(input.customerID, field: "customer_id", required: false)
    guard input.amount.isFinite, (0...Self.maxOrderAmount).contains(input.amount) else {
      throw FunnelError.invalidArgument(field: "amount", "\(input.amount) is not in 0...\(Self.maxOrderAmount)")
    }
    let currency = input.currency.uppercased()
    guard currency.utf8.count == 3, currency.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
      throw FunnelError.invalidArgument(field: "currency", "'\(input.currency.prefix(16))' is not an ISO 4217 code")
    }
    guard input.lines.count <= Self.maxOrderLines else {
      throw FunnelError.invalidArgument(field: "lines", "\(input.lines.count) lines, more than \(Self.maxOrderLines)")
    }
    var lines: [OrderLine] = []
    lines.reserveCapacity(input.lines.count)
    for (i, line) in input.lines.enumerated() {
      try checkID(line.itemID, field: "lines[\(i)].item_id", required: true)
      guard line.quantity <= 10_000 else { throw FunnelError.invalidArgument(field: "lines[\(i)].quantity", "\(line.quantity) is more than 10000") }
      guard line.unitPrice.isFinite, (0...Self.maxOrderAmount).contains(line.unitPrice) else {
        throw FunnelError.invalidArgument(field: "lines[\(i)].unit_price", "\(line.unitPrice) is not in 0...\(Self.maxOrderAmount)")
      }
      guard line.category.utf8.count <= 128 else {
        throw FunnelError.invalidArgument(field: "lines[\(i)].category", "\(line.category.utf8.count) bytes, more than 128")
      }
      lines.append(OrderLine(itemID: line.itemID, quantity: max(1, line.quantity), unitPrice: line.unitPrice, category: line.category))
    }
    let country = try checkCountry(input.country)
    guard input.source.utf8.count <= 32,
          input.source.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
      throw FunnelError.invalidArgument(field: "source", "'\(input.source.prefix(40))' must be at most 32 of a-z, 0-9, '_' and '-'")
    }
    let timestamp = try checkTimestamp(input.timestampMs, nowMs: nowMs, configuration: configuration)
    return OrderEvent(orderID: input.orderID, state: state, customerID: input.customerID, amount: input.amount, currency: currency,
                      lines: lines, country: country, source: input.source, timestampMs: timestamp)
  }
}
