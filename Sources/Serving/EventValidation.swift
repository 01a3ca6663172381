import FunnelCore

/// A tracked event as received, before validation. Field meanings follow `funnel.v1.Event`.
public struct EventInput: Sendable {
  public var eventID: String
  public var userID: String
  public var sessionID: String
  public var itemID: String
  /// nil when unspecified or unknown on the wire; `kindLabel` names it for the error.
  public var kind: EventKind?
  public var kindLabel: String
  /// Unix ms; 0 means now.
  public var timestampMs: Int64
  /// 0 means 1.
  public var quantity: UInt32
  public var price: Double
  public var requestID: String
  /// ISO 3166 country code, or empty.
  public var country: String
  /// The user's consent to be remembered: true granted, false denied, nil not said (see
  /// `ServingConfiguration.requireConsent`).
  public var consent: Bool?

  /// Creates an input.
  public init(eventID: String, userID: String, sessionID: String = "", itemID: String, kind: EventKind?,
              kindLabel: String? = nil, timestampMs: Int64 = 0, quantity: UInt32 = 0, price: Double = 0,
              requestID: String = "", country: String = "", consent: Bool? = nil) {
    self.consent = consent
    self.eventID = eventID
    self.userID = userID
    self.sessionID = sessionID
    self.itemID = itemID
    self.kind = kind
    self.kindLabel = kindLabel ?? kind?.rawValue ?? "unspecified"
    self.timestampMs = timestampMs
    self.quantity = quantity
    self.price = price
    self.requestID = requestID
    self.country = country
  }
}

extension RequestValidator {
  /// Validates one event as of `nowMs`; returns the event to store, or throws `invalidArgument`
  /// naming the field. `configuration` gives the accepted time window.
  public func validate(_ input: EventInput, nowMs: Int64, configuration: ServingConfiguration) throws -> BehaviourEvent {
    guard (1...128).contains(input.eventID.utf8.count) else {
      throw FunnelError.invalidArgument(field: "event_id", "must be 1...128 bytes")
    }
    try checkID(input.userID, field: "user_id", required: true)
    try checkID(input.sessionID, field: "session_id", required: false)
    try checkID(input.itemID, field: "item_id", required: true)
    try checkID(input.requestID, field: "request_id", required: false)
    guard let kind = input.kind else {
      throw FunnelError.invalidArgument(field: "type", "\(input.kindLabel) is not an event type")
    }
    let timestamp = try checkTimestamp(input.timestampMs, nowMs: nowMs, configuration: configuration)
    guard input.quantity <= 10_000 else {
      throw FunnelError.invalidArgument(field: "quantity", "\(input.quantity) is more than 10000")
    }
    let country = try checkCountry(input.country)
    guard input.price.isFinite, input.price >= 0 else {
      throw FunnelError.invalidArgument(field: "price", "\(input.price) is not a finite non-negative number")
    }
    return BehaviourEvent(eventID: input.eventID, userID: input.userID, sessionID: input.sessionID,
                          itemID: input.itemID, kind: kind, timestampMs: timestamp,
                          quantity: max(1, input.quantity), price: input.price, requestID: input.requestID,
                          country: country)
  }
}

extension RequestValidator {
  /// A Track or TrackOrders batch's size: 1...`maxEventsPerBatch` (`field` names the list, and its
  /// elements in the message: `events`, `orders`).
  func checkBatch(_ count: Int, field: String, configuration: ServingConfiguration) throws {
    guard count > 0 else { throw FunnelError.invalidArgument(field: field, "is empty") }
    guard count <= configuration.maxEventsPerBatch else {
      throw FunnelError.invalidArgument(field: field, "\(count) \(field), more than \(configuration.maxEventsPerBatch)")
    }
  }

  /// A change's time: 0 means `nowMs`; otherwise within the accepted window (not more than
  /// `maxEventSkew` ahead, not older than `maxEventAge`). Shared by events and order changes.
  func checkTimestamp(_ timestampMs: Int64, nowMs: Int64, configuration: ServingConfiguration) throws -> Int64 {
    let timestamp = timestampMs == 0 ? nowMs : timestampMs
    let skewMs = configuration.maxEventSkew.components.seconds * 1000
    let ageMs = configuration.maxEventAge.components.seconds * 1000
    guard timestamp <= nowMs + skewMs else {
      throw FunnelError.invalidArgument(field: "timestamp_ms", "\(timestamp) is more than \(skewMs / 1000) s in the future")
    }
    guard timestamp >= nowMs - ageMs else {
      throw FunnelError.invalidArgument(field: "timestamp_ms", "\(timestamp) is older than \(ageMs / 86_400_000) days")
    }
    return timestamp
  }

  /// An ISO 3166-1 alpha-2 code in upper case, or empty for empty.
  func checkCountry(_ text: String) throws -> String {
    guard !text.isEmpty else { return "" }
    guard let code = CountryCode.normalised(text) else {
      throw FunnelError.invalidArgument(field: "country", "'\(text.prefix(16))' is not an ISO 3166-1 alpha-2 country code")
    }
    return code
  }
}
