import FunnelCore

/// The compact binary form of a `BehaviourEvent` as it travels through the event stream (one Redis
/// Stream entry field): layout version (1 byte, 1), kind (1 byte, index in `EventKind.allCases`),
/// timestamp (Unix ms, i64), quantity (u32), price (f64 bit pattern), all little-endian, then six
/// strings each as a u16 byte count and UTF-8 bytes: event id, user, session, item, request id,
/// country. About 40 bytes plus the ids, against ~200 for the same event as JSON.
public enum PackedEvent {
  /// The layout version written first.
  public static let layoutVersion: UInt8 = 1

  /// Encodes `event`. O(total id length). Ids longer than 65,535 bytes are cut (validation allows 256).
  public static func encode(_ event: BehaviourEvent) -> [UInt8] {
    var bytes: [UInt8] = [layoutVersion, UInt8(EventKind.allCases.firstIndex(of: event.kind) ?? 0)]
    bytes.reserveCapacity(34 + event.eventID.utf8.count + event.userID.utf8.count + event.itemID.utf8.count
                          + event.sessionID.utf8.count + event.requestID.utf8.count + event.country.utf8.count)
    PackedBytes.append(event.timestampMs, to: &bytes)
    PackedBytes.append(event.quantity, to: &bytes)
    PackedBytes.append(event.price.bitPattern, to: &bytes)
    for text in [event.eventID, event.userID, event.sessionID, event.itemID, event.requestID, event.country] {
      PackedBytes.append(text, to: &bytes)
    }
    return bytes
  }

  /// Decodes bytes written by `encode`; nil for anything else (an unknown layout or kind, a short or
  /// over-long buffer), so a corrupt entry is reported and skipped rather than trusted.
  public static func decode(_ bytes: [UInt8]) -> BehaviourEvent? {
    guard bytes.count >= 22 + 12, bytes[0] == layoutVersion, Int(bytes[1]) < EventKind.allCases.count else { return nil }
    var reader = PackedBytes.Reader(bytes, at: 2)
    guard let timestamp = reader.integer(8), let quantity = reader.integer(4), let price = reader.integer(8) else { return nil }
    var texts: [String] = []
    for _ in 0..<6 {
      guard let text = reader.text() else { return nil }
      texts.append(text)
    }
    guard reader.atEnd, !texts[0].isEmpty, !texts[1].isEmpty, !texts[3].isEmpty else { return nil }
    return BehaviourEvent(eventID: texts[0], userID: texts[1], sessionID: texts[2], itemID: texts[3],
                          kind: EventKind.allCases[Int(bytes[1])], timestampMs: Int64(bitPattern: timestamp),
                          quantity: UInt32(quantity), price: Double(bitPattern: price), requestID: texts[4],
                          country: texts[5])
  }
}

/// An event read back from the event stream: the event, the stream entry id, and when the collector
/// accepted it (Unix ms, the entry id's time part).
public struct StreamedEvent: Hashable, Sendable {
  /// The stream entry id (`<ms>-<seq>`).
  public var entryID: String
  /// Unix ms at which the event was durably appended.
  public var acceptedMs: Int64
  /// The event as accepted.
  public var event: BehaviourEvent

  /// Creates a streamed event.
  public init(entryID: String, acceptedMs: Int64, event: BehaviourEvent) {
    self.entryID = entryID
    self.acceptedMs = acceptedMs
    self.event = event
  }
}
