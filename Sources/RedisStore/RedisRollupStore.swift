import FunnelCore
import Indicators

/// The indicator rollups in Redis, shared by every replica (so each dashboard shows the fleet):
/// hashes per bucket (`{dash}:s:START` seconds, `{dash}:m:START` minute totals, `{dash}:md:START`
/// minute fields with dimensions, `{dash}:h:START` hours), each expiring after its retention; sorted
/// sets per minute for the top lists (`{dash}:top:START`, two hours); the set of customers seen
/// (`{dash}:customers`). `apply` is one Lua script per chunk of the tally (atomic per chunk, so
/// replicas incrementing the same buckets never lose an update); reads are pipelined HGETALLs.
/// Every key carries the hash tag `{dash}`: the script names its keys as it goes, which a Redis
/// Cluster allows only within the slot of the key it declares (the dashboard's data is bounded,
/// so one slot holds it).
/// Thread-safe.
public struct RedisRollupStore: RollupStore {
  let client: RedisClient
  let prefix: String
  /// Increments per script call (bounds the script's argument list).
  static let chunk = 4_000

  /// A store under `keyPrefix` + `{dash}:`.
  public init(client: RedisClient, keyPrefix: String = "funnel:") {
    self.client = client
    self.prefix = keyPrefix + "{dash}:"
  }

  /// ARGV: cap, top cap, prefix, then `nf` (second, field, value) triples, `nc` customer marks
  /// (customer, second, ndims, dims...), `nt` (minute, key, score) top entries.
  static let applyScript = """
  local cap, topcap, p = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
  local expired = {}
  local function incr(key, field, value, ttl)
    if redis.call('HEXISTS', key, field) == 0 and redis.call('HLEN', key) >= cap then
      field = string.gsub(field, '=[^|]*', '=other')
    end
    redis.call('HINCRBYFLOAT', key, field, value)
    if not expired[key] then redis.call('EXPIRE', key, ttl); expired[key] = true end
  end
  local function add(s, field, value)
    local m, h = s - s % 60, s - s % 3600
    if string.find(field, '|', 1, true) then
      incr(p .. 'md:' .. m, field, value, 21660)
    else
      incr(p .. 's:' .. s, field, value, 960)
      incr(p .. 'm:' .. m, field, value, 691200)
    end
    incr(p .. 'h:' .. h, field, value, 7776000)
  end
  local i = 4
  local nf = tonumber(ARGV[i]); i = i + 1
  for _ = 1, nf do
    add(tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2]); i = i + 3
  end
  local nc = tonumber(ARGV[i]); i = i + 1
  for _ = 1, nc do
    local customer, s, nd = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]); i = i + 3
    local metric = 'customers.returning'
    if customer == '' or redis.call('SADD', p .. 'customers', customer) == 1 then metric = 'customers.new' end
    add(s, metric, 1)
    for d = 0, nd - 1 do add(s, metric .. '|' .. ARGV[i + d], 1) end
    i = i + nd
  end
  local nt = tonumber(ARGV[i]); i = i + 1
  for _ = 1, nt do
    local key = p .. 'top:' .. ARGV[i]
    if redis.call('ZSCORE', key, ARGV[i + 1]) or redis.call('ZCARD', key) < topcap then
      redis.call('ZINCRBY', key, ARGV[i + 2], ARGV[i + 1])
      if not expired[key] then redis.call('EXPIRE', key, 7200); expired[key] = true end
    end
    i = i + 3
  end
  return 1
  """

  public func apply(_ tally: IndicatorTally) async throws {
    var triples: [(Int64, String, Double)] = []
    for (second, fields) in tally.fields { for (field, value) in fields { triples.append((second, field, value)) } }
    var tops: [(Int64, String, Double)] = []
    for (minute, scores) in tally.top { for (key, score) in scores { tops.append((minute, key, score)) } }
    var customers = tally.customers[...]
    var start = 0, topStart = 0
    repeat {
      // KEYS[1] (unused by the script) routes the call to the `{dash}` slot.
      var args = ["EVAL", Self.applyScript, "1", prefix + "customers", String(RollupLimits.maxFieldsPerBucket), String(RollupLimits.maxTopKeysPerMinute), prefix]
      let fieldEnd = min(triples.count, start + Self.chunk)
      args.append(String(fieldEnd - start))
      for (second, field, value) in triples[start..<fieldEnd] { args += [String(second), field, Self.number(value)] }
      start = fieldEnd
      let marks = customers.prefix(Self.chunk / 8)
      customers = customers.dropFirst(marks.count)
      args.append(String(marks.count))
      for mark in marks { args += [mark.customer, String(mark.second), String(mark.dimensions.count)] + mark.dimensions }
      let topEnd = min(tops.count, topStart + Self.chunk)
      args.append(String(topEnd - topStart))
      for (minute, key, score) in tops[topStart..<topEnd] { args += [String(minute), key, Self.number(score)] }
      topStart = topEnd
      let reply = try await client.command(args)
      if case .error(let message) = reply { throw RedisError("indicator rollups: \(message)") }
    } while start < triples.count || !customers.isEmpty || topStart < tops.count
  }

  public func buckets(_ resolution: Resolution, from: Int64, through: Int64, dimensions: Bool) async throws -> [Int64: [String: Double]] {
    let first = resolution.bucket(of: from)
    guard first <= through else { return [:] }
    let starts = Array(stride(from: first, through: through, by: Int(resolution.seconds)))
    var commands: [[String]] = []
    for start in starts {
      switch resolution {
      case .second: commands.append(["HGETALL", prefix + "s:\(start)"])
      case .minute:
        commands.append(["HGETALL", prefix + "m:\(start)"])
        if dimensions { commands.append(["HGETALL", prefix + "md:\(start)"]) }
      case .hour: commands.append(["HGETALL", prefix + "h:\(start)"])
      }
    }
    var out: [Int64: [String: Double]] = [:]
    let perStart = resolution == .minute && dimensions ? 2 : 1
    for batch in stride(from: 0, to: commands.count, by: 2_048) {
      let replies = try await client.pipeline(Array(commands[batch..<min(commands.count, batch + 2_048)]))
      for (offset, reply) in replies.enumerated() {
        let start = starts[(batch + offset) / perStart]
        guard case .array(let items) = reply else {
          if case .error(let message) = reply { throw RedisError("indicator rollups: HGETALL: \(message)") }
          continue
        }
        var fields = out[start] ?? [:]
        var i = 0
        while i + 1 < items.count {
          if let name = items[i].string, let value = items[i + 1].string.flatMap(Double.init),
             dimensions || !IndicatorField.hasDimensions(name) {
            fields[name, default: 0] += value
          }
          i += 2
        }
        if !fields.isEmpty { out[start] = fields }
      }
    }
    return out
  }

  /// Reads each minute's best 500 keys and merges them: a key outside every minute's 500 best
  /// cannot be among the window's best few in practice, and the read stays bounded.
  public func top(_ list: String, from: Int64, through: Int64, limit: Int) async throws -> [(key: String, score: Double)] {
    let first = Resolution.minute.bucket(of: from)
    guard first <= through, limit > 0 else { return [] }
    let minutes = Array(stride(from: first, through: through, by: 60))
    let replies = try await client.pipeline(minutes.map { ["ZREVRANGE", prefix + "top:\($0)", "0", "499", "WITHSCORES"] })
    let wanted = list + "|"
    var merged: [String: Double] = [:]
    for reply in replies {
      guard case .array(let items) = reply else { continue }
      var i = 0
      while i + 1 < items.count {
        if let key = items[i].string, key.hasPrefix(wanted), let score = items[i + 1].string.flatMap(Double.init) {
          merged[String(key.dropFirst(wanted.count)), default: 0] += score
        }
        i += 2
      }
    }
    return Array(merged.map { (key: $0.key, score: $0.value) }
      .sorted { $0.score != $1.score ? $0.score > $1.score : $0.key < $1.key }.prefix(limit))
  }

  /// A value as Redis reads a float: integers without a fraction, others in round-trip form.
  static func number(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
  }
}

/// The order feed's idempotency in Redis: `SET dash:ord:KEY NX EX` per change, pipelined; a key is
/// kept `ttlSeconds` (30 days: the accepted age of a change). Thread-safe.
public struct RedisOrderLedger: OrderLedger {
  let client: RedisClient
  let prefix: String
  let ttlSeconds: Int

  /// A ledger under `keyPrefix` + `dash:ord:`.
  public init(client: RedisClient, keyPrefix: String = "funnel:", ttlSeconds: Int = 30 * 86_400) {
    self.client = client
    self.prefix = keyPrefix + "dash:ord:"
    self.ttlSeconds = ttlSeconds
  }

  public func admit(_ keys: [String]) async throws -> [Bool] {
    guard !keys.isEmpty else { return [] }
    let replies = try await client.pipeline(keys.map { ["SET", prefix + $0, "1", "NX", "EX", String(ttlSeconds)] })
    return try replies.map { reply in
      switch reply {
      case .status: return true
      case .null: return false
      case .error(let message): throw RedisError("order ledger: SET NX: \(message)")
      default: throw RedisError("order ledger: SET NX: unexpected reply \(reply)")
      }
    }
  }
}

/// The answers' origins shared between replicas: `dash:ans:REQUEST_ID` = `scene` TAB `arm`. Thread-safe.
public struct RedisAnswerDirectory: AnswerDirectory {
  let client: RedisClient
  let prefix: String

  /// A directory under `keyPrefix` + `dash:ans:`.
  public init(client: RedisClient, keyPrefix: String = "funnel:") {
    self.client = client
    self.prefix = keyPrefix + "dash:ans:"
  }

  public func publish(_ answers: [(requestID: String, origin: AnswerOrigin)], ttlSeconds: Int) async throws {
    guard !answers.isEmpty else { return }
    for batch in stride(from: 0, to: answers.count, by: 1_000) {
      let commands = answers[batch..<min(answers.count, batch + 1_000)].map {
        ["SET", prefix + $0.requestID, $0.origin.scene + "\t" + $0.origin.arm, "EX", String(ttlSeconds)]
      }
      for reply in try await client.pipeline(Array(commands)) {
        if case .error(let message) = reply { throw RedisError("answer directory: SET: \(message)") }
      }
    }
  }

  public func lookup(_ requestIDs: [String]) async throws -> [String: AnswerOrigin] {
    guard !requestIDs.isEmpty else { return [:] }
    var keys: [UInt8] = []
    var ends: [Int] = []
    ends.reserveCapacity(requestIDs.count)
    for id in requestIDs {
      keys += prefix.utf8
      keys += id.utf8
      ends.append(keys.count)
    }
    // Not one MGET: on a cluster the request ids' keys live in many slots.
    let values = try await client.mget(packedKeys: keys, ends: ends) { raw in
      raw.map { String(decoding: $0, as: UTF8.self) }
    }
    var out: [String: AnswerOrigin] = [:]
    for (id, value) in zip(requestIDs, values) {
      guard let text = value else { continue }
      let parts = text.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
      if parts.count == 2 { out[id] = AnswerOrigin(scene: String(parts[0]), arm: String(parts[1])) }
    }
    return out
  }
}
