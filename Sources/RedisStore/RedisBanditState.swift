/// The online channel bandit's state, shared by the fleet in one Redis hash (`PREFIX bandit:{b}`,
/// one slot on a cluster): per `SCENE|CHANNEL` the fields `s|…` (items shown) and `c|…` (clicked),
/// and the learner's read positions `cursor|…` in the exposure log and the event stream. One
/// learner writes at a time, holding a lease (`PREFIX bandit:{b}:lease`, same slot); its writes
/// are fenced by the lease inside the script, so a learner that lost it (paused, partitioned) can
/// no longer write. Counts and positions move in one script: a learner that dies between two
/// writes resumes exactly where the last one left (no event counted twice or lost). Thread-safe.
public struct RedisBanditState: Sendable {
  let client: RedisClient
  /// The hash.
  public let key: String
  /// The lease.
  public let leaseKey: String

  /// The state of the deployment behind `client` under `keyPrefix`.
  public init(client: RedisClient, keyPrefix: String = "funnel:") {
    self.client = client
    key = keyPrefix + "bandit:{b}"
    leaseKey = keyPrefix + "bandit:{b}:lease"
  }

  static let leaseScript = """
    local v = redis.call('GET', KEYS[1])
    if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
    if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
    return 0
    """

  /// Takes or renews the learner's lease for `owner` for `ttlMs`; false when another holds it.
  public func lease(owner: String, ttlMs: Int) async throws -> Bool {
    let reply = try await client.command(["EVAL", Self.leaseScript, "1", leaseKey, owner, String(ttlMs)])
    if case .error(let message) = reply { throw RedisError("bandit lease: \(message)") }
    return reply == .integer(1)
  }

  /// Gives the lease up if `owner` holds it (a learner shutting down).
  public func release(owner: String) async throws {
    _ = try await client.command(["EVAL", "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                                  "1", leaseKey, owner])
  }

  static let applyScript = """
    if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
    local cap = tonumber(ARGV[2])
    local n = tonumber(ARGV[3])
    local i = 4
    for k = 1, n do
      local arm = ARGV[i]
      local s = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 's|' .. arm, ARGV[i + 1]))
      local c = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 'c|' .. arm, ARGV[i + 2]))
      if s > cap then redis.call('HSET', KEYS[1], 's|' .. arm, tostring(s / 2), 'c|' .. arm, tostring(c / 2)) end
      i = i + 3
    end
    while i < #ARGV do
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
      i = i + 2
    end
    return 1
    """

  /// Adds `deltas` (arm `SCENE|CHANNEL`, shown, clicked) and sets `cursors` (field -> position) at
  /// once, if `owner` holds the lease; an arm past `cap` items shown has both counts halved (old
  /// evidence fades, the counts stay bounded). Returns false when the lease is not `owner`'s.
  public func apply(owner: String, deltas: [(arm: String, shown: Int, clicked: Int)], cursors: [String: String],
                    cap: Double) async throws -> Bool {
    var arguments = ["EVAL", Self.applyScript, "2", key, leaseKey, owner, String(cap), String(deltas.count)]
    for d in deltas { arguments += [d.arm, String(d.shown), String(d.clicked)] }
    for (field, position) in cursors.sorted(by: { $0.key < $1.key }) { arguments += ["cursor|" + field, position] }
    let reply = try await client.command(arguments)
    if case .error(let message) = reply { throw RedisError("bandit update: \(message)") }
    return reply == .integer(1)
  }

  /// The counts by arm (`SCENE|CHANNEL` -> (shown, clicked)) and the cursors (field -> position).
  public func read() async throws -> (arms: [String: (shown: Double, clicked: Double)], cursors: [String: String]) {
    let reply = try await client.command(["HGETALL", key])
    if case .error(let message) = reply { throw RedisError("HGETALL \(key): \(message)") }
    let fields = reply.array ?? []
    var arms: [String: (shown: Double, clicked: Double)] = [:]
    var cursors: [String: String] = [:]
    for i in stride(from: 0, to: fields.count - 1, by: 2) {
      guard let name = fields[i].string, let value = fields[i + 1].string else { continue }
      if name.hasPrefix("cursor|") {
        cursors[String(name.dropFirst(7))] = value
      } else if name.hasPrefix("s|"), let n = Double(value) {
        arms[String(name.dropFirst(2)), default: (0, 0)].shown = n
      } else if name.hasPrefix("c|"), let n = Double(value) {
        arms[String(name.dropFirst(2)), default: (0, 0)].clicked = n
      }
    }
    return (arms, cursors)
  }
}
