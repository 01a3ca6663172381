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
  /// Per shown item, the first recall channel that produced it (`popular`, `similar`, ...; empty for
  /// pinned items), for the online channel bandit; empty when not logged.
  public var channels: [String]
  /// Time the engine took for the answer, µs (0: not logged), for the canary's latency guardrail.
  public var latencyMicros: UInt32
  /// Whether the answer was degraded (a store slow or down, a stage fell back): the canary's error guardrail.
  public var degraded: Bool

  /// Creates an exposure.
  public init(requestID: String, userID: UserID, sessionID: String = "", scene: String, arm: String, modelVersion: String,
              timestampMs: Int64, items: [ItemID], featureNames: [String] = [], features: [[Float]] = [], channels: [String] = [],
              latencyMicros: UInt32 = 0, degraded: Bool = false) {
    self.channels = channels
    self.latencyMicros = latencyMicros
    self.degraded = degraded
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

  /// Roughly the memory this exposure takes, in bytes (strings, the items' ids and the feature rows),
  /// for logs and buffers bounded by bytes rather than by count: an answer of 1,000 items with their
  /// features is ~100 KB, one of 10 items ~1 KB. O(items).
  public var approximateBytes: Int {
    let strings = requestID.utf8.count + userID.utf8.count + sessionID.utf8.count + scene.utf8.count + arm.utf8.count
      + modelVersion.utf8.count
    let ids = items.reduce(0) { $0 + $1.utf8.count + 16 }
    let rows = features.reduce(0) { $0 + $1.count * 4 + 32 }
    return 128 + strings + ids + rows + featureNames.count * 16 + channels.count * 12
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

/// The binary form of an `Exposure` (a Redis Stream entry): version byte 2, timestamp (i64 LE),
/// six strings (u16 LE length + UTF-8: request, user, session, scene, arm, model version), the item
/// count and ids (u16 + strings), the feature names (u16 + strings), then per item one f32 LE per
/// feature name, then the channel count and channels (u16 + strings), the latency (u32 LE, µs) and
/// the degraded flag (one byte). ~25 bytes plus ids and 4 bytes per logged value. Version 1 (none
/// of the last three) still decodes.
public enum PackedExposure {
  /// Encodes `exposure`.
  public static func encode(_ exposure: Exposure) -> [UInt8] {
    var out: [UInt8] = [2]
    PackedBytes.append(exposure.timestampMs, to: &out)
    for text in [exposure.requestID, exposure.userID, exposure.sessionID, exposure.scene, exposure.arm, exposure.modelVersion] {
      PackedBytes.append(text, to: &out)
    }
    PackedBytes.append(UInt16(exposure.items.count), to: &out)
    for item in exposure.items { PackedBytes.append(item, to: &out) }
    let names = exposure.features.isEmpty ? [] : exposure.featureNames
    PackedBytes.append(UInt16(names.count), to: &out)
    for name in names { PackedBytes.append(name, to: &out) }
    for row in names.isEmpty ? [] : exposure.features {
      for i in 0..<names.count { PackedBytes.append((i < row.count ? row[i] : .nan).bitPattern, to: &out) }
    }
    let channels = exposure.channels.count == exposure.items.count ? exposure.channels : []
    PackedBytes.append(UInt16(channels.count), to: &out)
    for channel in channels { PackedBytes.append(channel, to: &out) }
    PackedBytes.append(exposure.latencyMicros, to: &out)
    out.append(exposure.degraded ? 1 : 0)
    return out
  }

  /// Decodes bytes written by `encode`; nil for anything else.
  public static func decode(_ bytes: [UInt8]) -> Exposure? {
    guard let version = bytes.first, version == 1 || version == 2 else { return nil }
    var reader = PackedBytes.Reader(bytes, at: 1)
    func texts(_ count: UInt64) -> [String]? {
      var out: [String] = []
      for _ in 0..<count {
        guard let t = reader.text() else { return nil }
        out.append(t)
      }
      return out
    }
    guard let time = reader.integer(8), let head = texts(6), let itemCount = reader.integer(2), let items = texts(itemCount),
          let nameCount = reader.integer(2), let names = texts(nameCount) else { return nil }
    var rows: [[Float]] = []
    for _ in 0..<(names.isEmpty ? 0 : itemCount) {
      var row: [Float] = []
      for _ in 0..<names.count {
        guard let v = reader.integer(4) else { return nil }
        row.append(Float(bitPattern: UInt32(v)))
      }
      rows.append(row)
    }
    var channels: [String] = []
    var (latency, degraded): (UInt64, UInt64) = (0, 0)
    if version == 2 {
      guard let count = reader.integer(2), count == 0 || count == itemCount, let read = texts(count),
            let micros = reader.integer(4), let flag = reader.integer(1), flag <= 1 else { return nil }
      (channels, latency, degraded) = (read, micros, flag)
    }
    guard reader.atEnd else { return nil }
    return Exposure(requestID: head[0], userID: head[1], sessionID: head[2], scene: head[3], arm: head[4],
                    modelVersion: head[5], timestampMs: Int64(bitPattern: time), items: items, featureNames: names,
                    features: rows, channels: channels, latencyMicros: UInt32(latency), degraded: degraded == 1)
  }
}
