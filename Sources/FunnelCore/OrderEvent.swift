/// Where an order is in its life, as an order system (or a CDC connector reading its database log)
/// reports it. Each state of an order counts once (`OrderEvent` is idempotent by id and state).
public enum OrderState: String, CaseIterable, Hashable, Sendable {
  case created
  case paid
  case cancelled
  case refunded
}

/// One line of an order: units of an item at a unit price, in the order's currency.
public struct OrderLine: Hashable, Sendable {
  public var itemID: ItemID
  /// Units (1...10,000).
  public var quantity: UInt32
  /// Unit price (>= 0, finite).
  public var unitPrice: Double
  /// The item's category when the order system names it; empty: the serving generation's, if any.
  public var category: String

  /// Creates a line.
  public init(itemID: ItemID, quantity: UInt32, unitPrice: Double, category: String = "") {
    self.itemID = itemID
    self.quantity = quantity
    self.unitPrice = unitPrice
    self.category = category
  }

  /// `quantity` x `unitPrice`.
  public var amount: Double { Double(quantity) * unitPrice }
}

/// A change of one order, as accepted by `EventCollector.TrackOrders` and `POST /v1/orders`: the
/// change feed the trade indicators of the dashboard are computed from.
public struct OrderEvent: Hashable, Sendable {
  /// The order system's id (1...128 bytes); with `state`, the idempotency key.
  public var orderID: String
  public var state: OrderState
  /// The customer (may be empty for guest checkouts, which count as new customers).
  public var customerID: String
  /// Total of the order in `currency` (>= 0, finite); for refunds, the amount refunded.
  public var amount: Double
  /// ISO 4217 code, upper case (3 letters).
  public var currency: String
  public var lines: [OrderLine]
  /// ISO 3166 alpha-2, upper case, or empty.
  public var country: String
  /// Traffic source of the order (`search`, `recommendation`, `email`, `direct`, `ads`, ...): a short
  /// lower-case name, or empty.
  public var source: String
  /// Unix milliseconds of the change.
  public var timestampMs: Int64

  /// Creates an order change; see the field comments for units.
  public init(orderID: String, state: OrderState, customerID: String, amount: Double, currency: String,
              lines: [OrderLine], country: String = "", source: String = "", timestampMs: Int64) {
    self.orderID = orderID
    self.state = state
    self.customerID = customerID
    self.amount = amount
    self.currency = currency
    self.lines = lines
    self.country = country
    self.source = source
    self.timestampMs = timestampMs
  }

  /// Units over the lines.
  public var units: UInt64 { lines.reduce(0) { $0 + UInt64($1.quantity) } }
}

extension OrderEvent {
  /// The idempotency key: `order id` + NUL + `state` (ids may hold any other character).
  public var ledgerKey: String { orderID + "\u{0}" + state.rawValue }
}
