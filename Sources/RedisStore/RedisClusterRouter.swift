import Synchronization

/// Routes a `RedisClient`'s commands over a Redis Cluster: the slot map comes from `CLUSTER SLOTS`
/// of any node that answers (the known primaries first, then the seeds), is patched by each
/// `MOVED`, and is read again (at most once per 100 ms, one read at a time) after a redirection
/// or a failed call — which is how a failover is noticed: calls to the dead primary fail (fast, its
/// pool backs off) until the survivors name its replica. `ASK` is followed once, with `ASKING`, for
/// a slot being migrated; `TRYAGAIN` and `CLUSTERDOWN` are retried after 20 ms. A command is
/// re-sent only after a redirection (which Redis answers before doing anything), never after an
/// I/O error, where it may have run: that error reaches the caller.
///
/// Thread-safe.
final class RedisClusterRouter: Sendable {
  typealias Node = RedisSlotMap.NodeAddress
  let seeds: [RedisEndpoint]
  private let makePool: @Sendable (RedisEndpoint) -> RedisNodePool
  private let state = Mutex(State())
  private let counters: RedisClientCounters

  /// Attempts per command (redirections and retries included).
  static let maxAttempts = 5
  /// Least time between two slot-map reads not forced by a missing map, ms.
  static let refreshIntervalMs: Int64 = 100

  private struct State {
    var pools: [Node: RedisNodePool] = [:]
  }
  /// The slot map, read from the nodes.
  private let slotMap: RedisLookup<RedisSlotMap>

  init(seeds: [RedisEndpoint], makePool: @escaping @Sendable (RedisEndpoint) -> RedisNodePool,
       now: @escaping @Sendable () -> Int64, counters: RedisClientCounters) {
    self.counters = counters
    precondition(!seeds.isEmpty, "a cluster needs a seed node")
    self.seeds = seeds
    self.makePool = makePool
    self.slotMap = RedisLookup(minimumIntervalMs: Self.refreshIntervalMs, now: now)
  }

  /// The pool of `node`, made on first use with the seeds' credentials.
  func pool(_ node: Node) -> RedisNodePool {
    state.withLock { state in
      if let pool = state.pools[node] { return pool }
      let pool = makePool(seeds[0].at(host: node.host, port: node.port))
      state.pools[node] = pool
      return pool
    }
  }

  /// The slot map, read first if there is none yet.
  func map() async throws -> RedisSlotMap { try await slotMap.value { try await self.readMap() } }

  /// Reads the slot map again (see `RedisLookup.refresh`).
  @discardableResult
  func refresh(force: Bool) async throws -> RedisSlotMap { try await slotMap.refresh(force: force) { try await self.readMap() } }

  /// Asks for a slot-map read in the background (paced by `refreshIntervalMs`).
  func refreshSoon() { slotMap.refreshSoon { try await self.readMap() } }

  private func readMap() async throws -> RedisSlotMap {
    counters.topologyReads.add(1, ordering: .relaxed)
    let known = slotMap.current?.servingNodes ?? []
    var candidates = known
    for seed in seeds {
      let node = Node(host: seed.host, port: seed.port)
      if !candidates.contains(node) { candidates.append(node) }
    }
    var failures: [String] = []
    for node in candidates {
      do {
        let reply = try await pool(node).pipeline(bytes: [[Array("CLUSTER".utf8), Array("SLOTS".utf8)]])[0]
        let map = try RedisSlotMap(clusterSlots: reply, askedHost: node.host)
        if map.coveredSlots > 0 {
          // Forget pools of nodes that left (a failed primary replaced, a node removed).
          let keep = Set(map.nodes).union(seeds.map { Node(host: $0.host, port: $0.port) })
          state.withLock { $0.pools = $0.pools.filter { keep.contains($0.key) } }
          return map
        }
        failures.append("\(node.text): no slots served")
      } catch {
        failures.append("\(node.text): \(error)")
      }
    }
    throw RedisError("redis cluster: no node gave a slot map (\(failures.joined(separator: "; ")))")
  }

  /// The primary that serves `command` under `map`: its key's slot's, or any for a keyless command.
  private func target(of command: [[UInt8]], in map: RedisSlotMap) throws -> Node {
    if let key = RedisCommandKey.of(command) {
      let slot = RedisSlot.of(key)
      guard let node = map.node(forSlot: slot) else { throw RedisError("redis cluster: no primary serves slot \(slot)") }
      return node
    }
    guard let node = map.servingNodes.first else { throw RedisError("redis cluster: no primaries") }
    return node
  }

  /// Sends `commands`, split per primary (concurrently), following redirections; replies in order.
  /// With `wait`, each primary's part ends with that command (`WAIT n ms`), whose reply `check`
  /// judges (throwing fails the pipeline).
  func pipeline(_ commands: [[[UInt8]]], wait: [[UInt8]]? = nil,
                check: @escaping @Sendable (RedisReply, String) throws -> Void = { _, _ in }) async throws -> [RedisReply] {
    var replies = [RedisReply](repeating: .null, count: commands.count)
    var asking: [Int: Node] = [:]
    var todo = Array(commands.indices)
    for attempt in 1...Self.maxAttempts {
      let map = try await map()
      var groups: [Node: [Int]] = [:]
      for i in todo {
        let node = try asking[i] ?? target(of: commands[i], in: map)
        groups[node, default: []].append(i)
      }
      let asks = asking, parts = Array(groups)
      let answers = try await send(parts) { part in
        let (node, indices) = (part.key, part.value)
        var batch: [[[UInt8]]] = []
        batch.reserveCapacity(indices.count)
        for i in indices {
          if asks[i] != nil { batch.append([Array("ASKING".utf8)]) }
          batch.append(commands[i])
        }
        guard let wait else { return try await self.pool(node).pipeline(bytes: batch) }
        var replies = try await self.pool(node).pipeline(bytes: batch + [wait])
        try check(replies.removeLast(), node.text)
        return replies
      }
      todo = []
      asking = [:]
      var retryLater = false
      for (indices, raw) in zip(parts.map(\.value), answers) {
        var k = 0
        for i in indices {
          if asks[i] != nil { k += 1 }  // ASKING's +OK
          let reply = raw[k]
          k += 1
          replies[i] = reply
          guard case .error(let message) = reply else { continue }
          if let redirection = RedisSlotMap.redirection(message) {
            counters.redirections.add(1, ordering: .relaxed)
            switch redirection {
            case .moved(let slot, let node):
              slotMap.update { $0.move(slot: slot, to: node) }
              refreshSoon()
            case .ask(_, let node):
              asking[i] = node
            }
            todo.append(i)
          } else if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") {
            retryLater = true
            todo.append(i)
          }
        }
      }
      if todo.isEmpty || attempt == Self.maxAttempts { break }
      if retryLater { try await Task.sleep(for: .milliseconds(20)) }
    }
    return replies
  }

  /// Runs `body` for each node's part at once (`RedisFanOut`); a failed node asks for a fresh slot
  /// map, and its error is thrown once every node has answered.
  private func send<Part: Sendable, R: Sendable>(_ parts: [Part], _ body: @escaping @Sendable (Part) async throws -> R) async throws -> [R] {
    do {
      return try await RedisFanOut.map(parts, body)
    } catch {
      refreshSoon()
      throw error
    }
  }

  /// Values of the packed keys (see `RedisClient.mget`): one `MGET` per slot, pipelined per
  /// primary, the primaries read at once; after a redirection the slot map is read again and the
  /// read repeated.
  func mget<T: Sendable>(packedKeys: [UInt8], ends: [Int],
                         decode: @escaping @Sendable (UnsafeRawBufferPointer?) -> T) async throws -> [T] {
    // Keys by slot (computed once), then slots by primary under the current map.
    var bySlot: [Int: [Int]] = [:]
    packedKeys.withUnsafeBufferPointer { bytes in
      var start = 0
      for (i, end) in ends.enumerated() {
        bySlot[RedisSlot.of(UnsafeBufferPointer(rebasing: bytes[start..<end])), default: []].append(i)
        start = end
      }
    }
    for _ in 1...Self.maxAttempts {
      let map = try await map()
      var byNode: [Node: [[Int]]] = [:]
      for (slot, indices) in bySlot {
        guard let node = map.node(forSlot: slot) else { throw RedisError("redis cluster: no primary serves slot \(slot)") }
        byNode[node, default: []].append(indices)
      }
      let nodes = Array(byNode.keys)
      let plan = byNode
      let reads = try await send(nodes) { node in
        try await self.pool(node).withConnection {
          try $0.mgetGroups(packedKeys: packedKeys, ends: ends, groups: plan[node]!, decode: decode)
        }
      }
      if !reads.contains(where: \.redirected) {
        var values = [T?](repeating: nil, count: ends.count)
        for (node, read) in zip(nodes, reads) {
          for (group, groupValues) in zip(plan[node]!, read.values) {
            for (i, value) in zip(group, groupValues) { values[i] = value }
          }
        }
        return values.map { $0! }
      }
      counters.redirections.add(1, ordering: .relaxed)
      try await refresh(force: true)
    }
    throw RedisError("redis cluster: keys kept moving over \(Self.maxAttempts) slot-map reads")
  }

  /// `command` on every primary of the current map.
  func onEveryPrimary(_ command: [[UInt8]]) async throws -> [(node: String, reply: RedisReply)] {
    let nodes = try await map().servingNodes
    let replies = try await send(nodes) { try await self.pool($0).pipeline(bytes: [command])[0] }
    return zip(nodes, replies).map { ($0.text, $1) }
  }
}
