/// The catalog change feed every replica follows: one Redis stream (`PREFIX catalog:changes`) whose
/// entries carry a change as one catalog JSON line (`op` `upsert` or `delete`, field `c`), and a
/// message on channel `PREFIX catalog` after each append so that followers read at once.
///
/// The stream is the feed's whole history since the oldest generation any replica serves: entries are
/// trimmed (`trim(through:)`) only after a generation that folded them in is served by the fleet,
/// so a replica that starts reads every change it must lay over its generation. Catalog changes are
/// few beside events; one stream (one slot on a cluster) carries them. Encoding of the items is the
/// caller's (the catalog JSON-lines format of the index builder). Thread-safe.
public struct RedisCatalogFeed: Sendable {
  /// One entry: its feed position, the operation and the payload (an item's JSON line, or an id).
  public struct Entry: Sendable, Equatable {
    public var position: String
    public var operation: String
    public var payload: String
  }

  let client: RedisClient
  let keyPrefix: String

  /// The feed of the deployment behind `client` under `keyPrefix`.
  public init(client: RedisClient, keyPrefix: String = "funnel:") {
    self.client = client
    self.keyPrefix = keyPrefix
  }

  /// The stream key.
  public var streamKey: String { keyPrefix + "catalog:changes" }
  /// The channel announcing appends.
  public var channel: String { keyPrefix + "catalog" }

  /// Appends `changes` ((operation, payload), in order) in one pipeline and announces them; returns
  /// their positions. Throws `RedisError` (the caller maps it to UNAVAILABLE) if any append failed:
  /// the ones before it are in the feed, and re-sending them is harmless (a later upsert of an item
  /// replaces an earlier one).
  public func append(_ changes: [(operation: String, payload: String)]) async throws -> [String] {
    guard !changes.isEmpty else { return [] }
    let commands = changes.map { ["XADD", streamKey, "*", "op", $0.operation, "c", $0.payload] } + [["PUBLISH", channel, "1"]]
    let replies = try await client.pipeline(commands)
    var positions: [String] = []
    for reply in replies.dropLast() {
      if case .error(let message) = reply { throw RedisError("XADD \(streamKey): \(message)") }
      guard let id = reply.string else { throw RedisError("XADD \(streamKey): no entry id") }
      positions.append(id)
    }
    return positions
  }

  /// Entries after position `after` (nil: from the start), in feed order, at most `limit`
  /// (pages of 1,000 `XRANGE`s). O(entries read).
  public func read(after: String?, limit: Int = .max) async throws -> [Entry] {
    var out: [Entry] = []
    try await RedisStreamReply.scan(client, streamKey, from: after.map { "(" + $0 } ?? "-") { page in
      for entry in page where out.count < limit {
        guard let op = entry.field("op"), let payload = entry.field("c") else { continue }
        out.append(Entry(position: entry.id, operation: String(decoding: op, as: UTF8.self),
                         payload: String(decoding: payload, as: UTF8.self)))
      }
      return []
    }
    return out
  }

  /// Number of entries in the feed.
  public func length() async throws -> Int {
    let reply = try await client.command(["XLEN", streamKey])
    if case .error(let message) = reply { throw RedisError("XLEN \(streamKey): \(message)") }
    if case .integer(let n) = reply { return Int(n) }
    return 0
  }

  /// Removes the entries up to and including `position` (a generation folded them in and the fleet
  /// serves it). Returns how many were removed.
  @discardableResult
  public func trim(through position: String) async throws -> Int {
    let parts = position.split(separator: "-")
    guard parts.count == 2, let ms = UInt64(parts[0]), let sequence = UInt64(parts[1]) else {
      throw RedisError("catalog feed position '\(position)' is not ms-seq")
    }
    // MINID keeps entries >= the id given: the one just after `position`.
    let reply = try await client.command(["XTRIM", streamKey, "MINID", "\(ms)-\(sequence &+ 1)"])
    if case .error(let message) = reply { throw RedisError("XTRIM \(streamKey): \(message)") }
    if case .integer(let n) = reply { return Int(n) }
    return 0
  }
}
