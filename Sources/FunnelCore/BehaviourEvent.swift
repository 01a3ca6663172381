/// What a user did with an item.
public enum EventKind: String, CaseIterable, Hashable, Sendable {
  case view
  case click
  case addToCart = "add_to_cart"
  case purchase
  /// The item was shown to the user (logged by Funnel itself after an answer).
  case exposure

  /// How strongly the event signals interest, for popularity and co-occurrence weights.
  /// Exposures signal nothing by themselves.
  public var interestWeight: Float {
    switch self {
    case .view: 1
    case .click: 2
    case .addToCart: 4
    case .purchase: 8
    case .exposure: 0
    }
  }
}

/// One behaviour event, as accepted by `EventCollector.Track` and read from event files.
public struct BehaviourEvent: Hashable, Sendable {
  /// Unique id chosen by the producer; ingestion is idempotent by it.
  public var eventID: String
  public var userID: UserID
  /// Empty when unknown.
  public var sessionID: String
  public var itemID: ItemID
  public var kind: EventKind
  /// Unix time in milliseconds.
  public var timestampMs: Int64
  /// Units (>= 1).
  public var quantity: UInt32
  /// Unit price at the time of the event (>= 0).
  public var price: Double
  /// The answer that led to the event, or empty.
  public var requestID: String
  /// ISO 3166 country code of the order or visit, or empty (business counters per country).
  public var country: String

  /// Creates an event; see the field comments for units.
  public init(eventID: String, userID: UserID, sessionID: String = "", itemID: ItemID, kind: EventKind,
              timestampMs: Int64, quantity: UInt32 = 1, price: Double = 0, requestID: String = "",
              country: String = "") {
    self.eventID = eventID
    self.userID = userID
    self.sessionID = sessionID
    self.itemID = itemID
    self.kind = kind
    self.timestampMs = timestampMs
    self.quantity = quantity
    self.price = price
    self.requestID = requestID
    self.country = country
  }
}
