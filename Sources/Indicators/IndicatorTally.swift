/// Increments waiting to be applied to a `RollupStore`: field sums by the Unix second they happened
/// in (the store adds each to the second, minute and hour buckets holding it), per-minute scores of
/// the top lists, and the customers whose orders count them as new or returning (the store decides,
/// having seen every earlier customer). A value type; `IndicatorRecorder` guards the live one.
public struct IndicatorTally: Sendable, Equatable {
  /// Field increments by Unix second.
  public var fields: [Int64: [String: Double]] = [:]
  /// Top-list scores by the start of their minute (Unix seconds), keyed `item|ID` or `category|NAME`.
  public var top: [Int64: [String: Double]] = [:]
  /// Paid orders' customers, to be counted as `customers.new` or `customers.returning`.
  public var customers: [CustomerMark] = []

  /// An empty tally.
  public init() {}

  /// Whether nothing is waiting.
  public var isEmpty: Bool { fields.isEmpty && top.isEmpty && customers.isEmpty }

  /// Distinct (second, field) and (minute, key) pairs plus customer marks: the tally's size, which
  /// the recorder bounds.
  public var entryCount: Int {
    fields.values.reduce(0) { $0 + $1.count } + top.values.reduce(0) { $0 + $1.count } + customers.count
  }

  /// Adds `value` to `field` in second `second`.
  public mutating func add(_ field: String, _ value: Double, at second: Int64) {
    fields[second, default: [:]][field, default: 0] += value
  }

  /// Adds `score` to `key` of the top lists in the minute holding `second`.
  public mutating func addTop(_ key: String, _ score: Double, at second: Int64) {
    top[Resolution.minute.bucket(of: second), default: [:]][key, default: 0] += score
  }

  /// Everything in `other` added to this tally.
  public mutating func merge(_ other: IndicatorTally) {
    for (second, values) in other.fields {
      fields[second, default: [:]].merge(values, uniquingKeysWith: +)
    }
    for (minute, values) in other.top {
      top[minute, default: [:]].merge(values, uniquingKeysWith: +)
    }
    customers += other.customers
  }
}

/// A paid order's customer: counted under `customers.new` or `customers.returning`, in total and
/// under each of `dimensions` (`country=GB`, `source=ads`, `category=Kitchen`), in the second `second`.
public struct CustomerMark: Sendable, Hashable {
  /// The customer id; empty for a guest checkout (always new).
  public var customer: String
  public var second: Int64
  public var dimensions: [String]

  /// Creates a mark.
  public init(customer: String, second: Int64, dimensions: [String]) {
    self.customer = customer
    self.second = second
    self.dimensions = dimensions
  }

  /// The fields a new (or returning) customer adds 1 to.
  public func fields(new: Bool) -> [String] {
    let metric = new ? "customers.new" : "customers.returning"
    return [metric] + dimensions.map { metric + "|" + $0 }
  }
}
