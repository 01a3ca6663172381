import FunnelCore
import FunnelJSON
import Serving

/// The JSON body of `POST /v1/events` and its answer (the `TrackRequest`/`TrackResponse` contract of
/// events.proto, field names in snake case; `type` is `view`, `click`, `add_to_cart`, `purchase` or
/// `exposure`).
public enum EventJSON {
  /// Decodes `{"events": [...]}`. Throws `invalidArgument` naming the field (`events[2].price`) for a
  /// body that is not such an object or holds values of the wrong JSON type; per-event checks
  /// (ids, time window) are the engine's, reported per event.
  public static func decode(_ body: [UInt8]) throws -> [EventInput] {
    let parsed = body.withUnsafeBytes { JSONValue.parse($0) }
    guard case .object(let root)? = parsed else {
      throw FunnelError.invalidArgument(field: "body", "is not a JSON object (expected {\"events\": [...]})")
    }
    if let extra = root.keys.first(where: { $0 != "events" }) {
      throw FunnelError.invalidArgument(field: extra, "is not a field of the request (expected \"events\")")
    }
    guard case .array(let list)? = root["events"] else { throw FunnelError.invalidArgument(field: "events", "must be an array") }
    return try list.enumerated().map { i, value in
      let at = "events[\(i)]"
      guard case .object(let e) = value else { throw FunnelError.invalidArgument(field: at, "must be an object") }
      let known: Set<String> = ["event_id", "user_id", "session_id", "item_id", "type", "timestamp_ms", "quantity", "price",
                                "request_id", "country"]
      if let extra = e.keys.sorted().first(where: { !known.contains($0) }) {
        throw FunnelError.invalidArgument(field: "\(at).\(extra)", "is not an event field")
      }
      func text(_ key: String) throws -> String {
        switch e[key] {
        case nil, .null?: return ""
        case .string(let s)?: return s
        default: throw FunnelError.invalidArgument(field: "\(at).\(key)", "must be a string")
        }
      }
      func number(_ key: String, _ range: ClosedRange<Double>) throws -> Double {
        switch e[key] {
        case nil, .null?: return 0
        case .number(let x)? where range.contains(x): return x
        default: throw FunnelError.invalidArgument(field: "\(at).\(key)", "must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
      }
      let typeName = try text("type")
      let kind = EventKind(rawValue: typeName)
      let timestamp = try number("timestamp_ms", 0...9e15)
      let quantity = try number("quantity", 0...Double(UInt32.max))
      guard timestamp == timestamp.rounded(), quantity == quantity.rounded() else {
        throw FunnelError.invalidArgument(field: "\(at).\(timestamp == timestamp.rounded() ? "quantity" : "timestamp_ms")",
                                          "must be a whole number")
      }
      return EventInput(eventID: try text("event_id"), userID: try text("user_id"), sessionID: try text("session_id"),
                        itemID: try text("item_id"), kind: kind == .none ? nil : kind,
                        kindLabel: typeName.isEmpty ? "missing" : "'\(typeName)'", timestampMs: Int64(timestamp),
                        quantity: UInt32(quantity), price: try number("price", 0...Double.greatestFiniteMagnitude),
                        requestID: try text("request_id"), country: try text("country"))
    }
  }

  /// The answer: `{"accepted":N,"duplicates":N,"rejected":[{"index":I,"event_id":"…","reason":"…"}]}`.
  public static func encode(_ outcome: TrackOutcome) -> [UInt8] {
    var out = Array("{\"accepted\":\(outcome.accepted),\"duplicates\":\(outcome.duplicates),\"rejected\":[".utf8)
    for (i, r) in outcome.rejected.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      out += Array("{\"index\":\(r.index),\"event_id\":".utf8)
      JSONText.appendString(r.eventID, to: &out)
      out += Array(",\"reason\":".utf8)
      JSONText.appendString(r.reason, to: &out)
      out.append(UInt8(ascii: "}"))
    }
    out += Array("]}".utf8)
    return out
  }

  /// `{"error":"…","code":"INVALID_ARGUMENT"}`.
  public static func error(_ message: String, code: String) -> [UInt8] {
    var out = Array("{\"error\":".utf8)
    JSONText.appendString(message, to: &out)
    out += Array(",\"code\":\"\(code)\"}".utf8)
    return out
  }
}
