import FunnelCore

/// One served list, logged after the answer for attribution, experiment reports and training:
/// who saw which items where, under which arm and model, with the model inputs each shown item was
/// scored with (point-in-time feature logging).
public struct Exposure: Hashable, Sendable {
  /// The answer's request id.
  public var requestID: String
  /// Who saw it (session id: empty when unknown).
  public var userID: UserID
  /// See `userID`.
  public var sessionID: String
  /// The scene's raw value (`home`, `item_page`, ...).
  public var scene: String
  /// `EXPERIMENT:ARM`, or `default` outside experiments.
  public var arm: String
  /// The model that ranked the list.
  public var modelVersion: String
  /// Unix ms of the answer.
  public var timestampMs: Int64
  /// Shown items, in order.
  public var items: [ItemID]
  /// The model's feature names, and per shown item its inputs in that order (NaN: missing); empty
  /// when feature logging is off.
  public var featureNames: [String]
  /// See `featureNames`.
  public var features: [[Float]]

  /// Creates an exposure.
  public init(requestID: String, userID: UserID, sessionID: String = "", scene: String, arm: String, modelVersion: String,
              timestampMs: Int64, items: [ItemID], featureNames: [String] = [], features: [[Float]] = []) {
    self.requestID = requestID
    self.userID = userID
    self.sessionID = sessionID
    self.scene = scene
    self.arm = arm
    self.modelVersion = modelVersion
    self.timestampMs = timestampMs
    self.items = items
    self.featureNames = featureNames
    self.features = features
  }
}

/// Where exposures are kept. Thread-safe.
public protocol ExposureLog: Sendable {
  /// Appends exposures (called off the request path, in batches).
  func write(_ exposures: [Exposure]) async throws
  /// Exposures at or after `sinceMs` (Unix ms), oldest first.
  func exposures(sinceMs: Int64) async throws -> [Exposure]
  /// Removes a user's exposures; returns how many.
  func forget(user: UserID) async throws -> Int
}

/// Reads back accepted events for attribution and reports. Thread-safe.
public protocol EventHistory: Sendable {
  /// Accepted events with a timestamp at or after `sinceMs`, in acceptance order.
  func events(sinceMs: Int64) async throws -> [BehaviourEvent]
}

/// The binary form of an `Exposure` (a Redis Stream entry): version byte 1, timestamp (i64 LE),
/// six strings (u16 LE length + UTF-8: request, user, session, scene, arm, model version), the item
/// count and ids (u16 + strings), the feature names (u16 + strings), then per item one f32 LE per
/// feature name. ~20 bytes plus ids and 4 bytes per logged value.
public enum PackedExposure {
  /// Encodes `exposure`.
  public static func encode(_ exposure: Exposure) -> [UInt8] {
    var out: [UInt8] = [1]
    func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
    func put(_ text: String) {
      let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
      put(UInt16(utf8.count))
      out += utf8
    }
    put(exposure.timestampMs)
    for text in [exposure.requestID, exposure.userID, exposure.sessionID, exposure.scene, exposure.arm, exposure.modelVersion] {
      put(text)
    }
    put(UInt16(exposure.items.count))
    exposure.items.forEach(put)
    let names = exposure.features.isEmpty ? [] : exposure.featureNames
    put(UInt16(names.count))
    names.forEach(put)
    if !names.isEmpty {
      for row in exposure.features { for i in 0..<names.count { put((i < row.count ? row[i] : .nan).bitPattern) } }
    }
    return out
  }

  /// Decodes bytes written by `encode`; nil for anything else.
  public static func decode(_ bytes: [UInt8]) -> Exposure? {
    var at = 1
    guard bytes.first == 1 else { return nil }
    func integer(_ width: Int) -> UInt64? {
      guard at + width <= bytes.count else { return nil }
      defer { at += width }
      return (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }
    func text() -> String? {
      guard let n = integer(2), at + Int(n) <= bytes.count else { return nil }
      defer { at += Int(n) }
      return String(decoding: bytes[at..<at + Int(n)], as: UTF8.self)
    }
    guard let time = integer(8) else { return nil }
    var texts: [String] = []
    for _ in 0..<6 { guard let t = text() else { return nil }; texts.append(t) }
    guard let itemCount = integer(2) else { return nil }
    var items: [String] = []
    for _ in 0..<itemCount { guard let t = text() else { return nil }; items.append(t) }
    guard let nameCount = integer(2) else { return nil }
    var names: [String] = []
    for _ in 0..<nameCount { guard let t = text() else { return nil }; names.append(t) }
    var rows: [[Float]] = []
    if !names.isEmpty {
      for _ in 0..<itemCount {
        var row: [Float] = []
        for _ in 0..<names.count { guard let v = integer(4) else { return nil }; row.append(Float(bitPattern: UInt32(v))) }
        rows.append(row)
      }
    }
    guard at == bytes.count else { return nil }
    return Exposure(requestID: texts[0], userID: texts[1], sessionID: texts[2], scene: texts[3], arm: texts[4],
                    modelVersion: texts[5], timestampMs: Int64(bitPattern: time), items: items, featureNames: names,
                    features: rows)
  }
}
