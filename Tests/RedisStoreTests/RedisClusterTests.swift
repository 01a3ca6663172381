import FeatureStore
import Foundation
import FunnelCore
import FunnelTestSupport
import RedisStore
import Serving
import Synchronization
import Testing

/// The cluster client against real Redis Clusters: slots moved under it (MOVED, ASK), a primary
/// killed under load (failover: writes refused while it is down, none accepted lost, reads
/// degraded not failed), and a Sentinel-managed primary replaced.
@Suite(.enabled(if: (StoreEnvironment.redisClusterURL != nil && LocalRedis.available) || StoreEnvironment.isCI,
                "REDIS_CLUSTER_URL is not set or redis-server is missing: run Scripts/test"))
struct RedisClusterTests {
  /// (port, node id, is primary) of every node of the cluster at `seedPort`.
  static func nodes(seedPort: Int) async throws -> [(port: Int, id: String, primary: Bool)] {
    let seed = try RedisClient(url: "redis://127.0.0.1:\(seedPort)")
    let text = try #require(try await seed.command(["CLUSTER", "NODES"]).string)
    return text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ")
      guard fields.count >= 8, let address = fields[1].split(separator: "@").first,
            let port = Int(address.split(separator: ":").last ?? "") else { return nil }
      return (port, String(fields[0]), fields[2].contains("master") && !fields[2].contains("fail"))
    }
  }

  static func seedPort(_ url: String) throws -> Int {
    let first = try #require(url.dropFirst("redis-cluster://".count).split(separator: ",").first)
    return try #require(Int(first.split(separator: ":").last ?? ""))
  }

  /// A slot moved between primaries while the client holds the old map: during the migration a
  /// new key is written and read through `ASK`; after it, through `MOVED` (and the map is patched).
  @Test func followsAskThenMovedWhileASlotMigrates() async throws {
    let url = try #require(StoreEnvironment.redisClusterURL)
    let client = try RedisClient(url: url)
    let tag = "{migrate-\(UInt64.random(in: 0...UInt64.max))}"
    let key = "funnel:test:" + tag + ":k"
    let slot = RedisSlot.of(key)
    #expect(try await client.command(["SET", key + "0", "before"]) == .status("OK"))
    let nodes = try await Self.nodes(seedPort: try Self.seedPort(url)).filter(\.primary)
    let ownerID = try #require(try await RedisClient(url: "redis://127.0.0.1:\(nodes[0].port)")
      .command(["CLUSTER", "NODES"]).string?.split(separator: "\n")
      .first { line in line.split(separator: " ").dropFirst(8).contains { range in Self.contains(range, slot) } }?
      .split(separator: " ").first.map(String.init))
    let source = try #require(nodes.first { $0.id == ownerID })
    let target = try #require(nodes.first { $0.id != ownerID })
    let (sourceClient, targetClient) = (try RedisClient(url: "redis://127.0.0.1:\(source.port)"),
                                        try RedisClient(url: "redis://127.0.0.1:\(target.port)"))
    #expect(try await targetClient.command(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id]) == .status("OK"))
    #expect(try await sourceClient.command(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id]) == .status("OK"))
    // A key the source does not hold goes to the target (ASK); one it holds stays readable there.
    #expect(try await client.command(["SET", key + "1", "during"]) == .status("OK"))
    #expect(try await targetClient.pipeline([["ASKING"], ["GET", key + "1"]])[1].string == "during", "ASK wrote it on the target")
    #expect(try await client.command(["GET", key + "1"]).string == "during")
    #expect(try await client.command(["GET", key + "0"]).string == "before")
    // Finish: move the remaining keys, then give the slot to the target on every primary.
    while true {
      let keys = try await sourceClient.command(["CLUSTER", "GETKEYSINSLOT", String(slot), "100"]).array?.compactMap(\.string) ?? []
      if keys.isEmpty { break }
      let reply = try await sourceClient.command(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS"] + keys)
      #expect(reply == .status("OK"), "MIGRATE: \(reply)")
    }
    for node in nodes {
      let reply = try await RedisClient(url: "redis://127.0.0.1:\(node.port)").command(["CLUSTER", "SETSLOT", String(slot), "NODE", target.id])
      #expect(reply == .status("OK"), "SETSLOT NODE on \(node.port): \(reply)")
    }
    #expect(try await client.command(["GET", key + "0"]).string == "before", "followed MOVED to the new owner")
    #expect(try await client.pipeline([["GET", key + "1"], ["DEL", key + "0", key + "1"]]) == [.bulk(Array("during".utf8)), .integer(2)])
    let counts = client.counters.snapshot
    #expect(counts.redirections >= 3 && counts.topologyReads >= 1 && counts.roundTrips > counts.redirections, "\(counts)")
  }

  /// Whether a `CLUSTER NODES` slot field (`5461-10922` or `42`) holds `slot`.
  static func contains(_ field: Substring, _ slot: Int) -> Bool {
    let bounds = field.split(separator: "-").compactMap { Int($0) }
    if bounds.count == 2 { return (bounds[0]...bounds[1]).contains(slot) }
    return bounds.count == 1 && bounds[0] == slot
  }

  /// A primary killed while events are appended (each acknowledged by a replica, `WAIT`) and read:
  /// appends to its slots are refused until its replica takes over, then accepted again; every
  /// append the stream accepted is in the streams afterwards; an engine reading user histories
  /// from the cluster answers every call during the outage, degraded for users on the dead primary.
  @Test func aKilledPrimaryFailsOverAndLosesNoAcceptedEvent() async throws {
    let cluster = try await LocalRedis.cluster(primaries: 3, replicas: 1, nodeTimeoutMs: 1_000)
    defer { cluster.stopAll() }
    let client = try RedisClient(url: cluster.clusterURL, timeoutMs: 300)
    let store = RedisFeatureStore(client: client, keyPrefix: "funnel:failover:")
    let stream = RedisEventStream(client: client, store: store, shards: 6, replicaAcks: 1, replicaTimeoutMs: 500)
    let (engine, _) = TestEngines.engine(activity: store)
    let users = TestEngines.store.events.map(\.userID).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.prefix(40)
    final class Shared: Sendable {
      let accepted = Mutex<[String]>([])
      let refusedBatches = Atomic<Int>(0)
      let stop = Atomic<Bool>(false)
    }
    let shared = Shared()
    var killedAt: ContinuousClock.Instant?

    async let writer: Void = {
      var i = 0
      while !shared.stop.load(ordering: .relaxed) {
        let batch = (0..<20).map { k -> BehaviourEvent in
          let n = i * 20 + k
          return BehaviourEvent(eventID: "fo-\(n)", userID: users[n % users.count], itemID: "I\(n % 17)", kind: .view,
                                timestampMs: 1_790_000_000_000 + Int64(n))
        }
        i += 1
        do {
          let result = try await stream.append(batch)
          #expect(result.accepted + result.duplicates == batch.count)
          shared.accepted.withLock { $0 += batch.map(\.eventID) }
        } catch {
          shared.refusedBatches.add(1, ordering: .relaxed)
          try? await Task.sleep(for: .milliseconds(20))
        }
      }
    }()
    async let reader: (answered: Int, degraded: Int, failed: Int) = {
      var (answered, degraded, failed) = (0, 0, 0)
      var k = 0
      while !shared.stop.load(ordering: .relaxed) {
        k += 1
        do {
          let answer = try await engine.recommend(RecommendInput(userID: users[k % users.count], scene: .home, count: 10))
          answered += 1
          if answer.degraded { degraded += 1 }
        } catch {
          failed += 1
        }
        try? await Task.sleep(for: .milliseconds(5))
      }
      return (answered, degraded, failed)
    }()

    // Let writes flow, kill a primary, wait for its replica to take over and writes to flow again.
    let clock = ContinuousClock()
    while shared.accepted.withLock({ $0.count }) < 400 { try await Task.sleep(for: .milliseconds(20)) }
    let victim = try cluster.primaryPorts()[1]
    let victimArguments = cluster.arguments(of: victim)
    cluster.kill(port: victim)
    killedAt = clock.now
    // Failed over once the survivors name three live primaries without the victim, and say ok.
    let ports = cluster.servers.withLock { $0.map(\.port) }
    let promotionDeadline = clock.now + .seconds(30)
    while clock.now < promotionDeadline {
      let primaries = try await offPool { try cluster.primaryPorts() }
      if primaries.count == 3 && !primaries.contains(victim) { break }
      try await Task.sleep(for: .milliseconds(50))
    }
    try await offPool { try cluster.waitUntilClusterOK(ports: ports) }
    let failedOver = clock.now - (killedAt ?? clock.now)
    // As an orchestrator would: the dead node comes back, as a replica of the promoted one, so
    // every primary again has a replica to acknowledge appends.
    try await cluster.restart(port: victim, arguments: victimArguments)
    let refusedByThen = shared.refusedBatches.load(ordering: .relaxed)
    let acceptedByThen = shared.accepted.withLock { $0.count }
    let deadline = clock.now + .seconds(20)
    while shared.accepted.withLock({ $0.count }) < acceptedByThen + 400, clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    shared.stop.store(true, ordering: .relaxed)
    _ = await writer
    let reads = await reader
    let recovered = clock.now - (killedAt ?? clock.now)

    #expect(refusedByThen > 0, "some appends met the dead primary")
    #expect(shared.accepted.withLock { $0.count } >= acceptedByThen + 400, "appends flow again after the failover")
    #expect(reads.failed == 0, "no Recommend failed: \(reads)")
    #expect(reads.answered > 0)
    // Every accepted event is in some shard's stream.
    var stored = Set<String>()
    for event in try await stream.events(sinceMs: 0) { stored.insert(event.eventID) }
    let lost = shared.accepted.withLock { $0 }.filter { !stored.contains($0) }
    #expect(lost.isEmpty, "\(lost.count) accepted events lost, e.g. \(lost.prefix(5))")
    print("failover: \(shared.accepted.withLock { $0.count }) events accepted, \(shared.refusedBatches.load(ordering: .relaxed)) batches refused, "
          + "failed over in \(failedOver), writes flowing again after \(recovered); \(reads.answered) answers, \(reads.degraded) degraded, \(reads.failed) failed")
  }

  /// A Sentinel-managed primary replaced (`SENTINEL FAILOVER`): the client asks the Sentinel again
  /// when the old primary refuses writes (`READONLY`) or stops answering, and writes land on the new one.
  @Test func followsASentinelFailover() async throws {
    let group = try await LocalRedis.sentinelGroup(name: "funnel-test")
    defer { group.redis.stopAll() }
    let client = try RedisClient(url: "redis-sentinel://127.0.0.1:\(group.sentinelPort)/funnel-test", timeoutMs: 300)
    #expect(try await client.primaries() == ["127.0.0.1:\(group.primaryPort)"])
    #expect(try await client.command(["SET", "k", "before"]) == .status("OK"))
    _ = try await client.command(["WAIT", "1", "200"])
    let sentinel = try RedisClient(url: "redis://127.0.0.1:\(group.sentinelPort)")
    #expect(try await sentinel.command(["SENTINEL", "FAILOVER", "funnel-test"]) == .status("OK"))
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(30)
    var wrote = false
    var failures = 0
    while clock.now < deadline {
      // A demoted primary closes its clients' connections: a read may fail mid-failover, as writes do.
      if case .status("OK")? = try? await client.command(["SET", "k", "after"]),
         (try? await client.primaries()) == ["127.0.0.1:\(group.replicaPort)"] {
        wrote = true
        break
      }
      failures += 1
      try await Task.sleep(for: .milliseconds(50))
    }
    #expect(wrote, "never wrote to the promoted replica")
    let promoted = try RedisClient(url: "redis://127.0.0.1:\(group.replicaPort)")
    #expect(try await promoted.command(["GET", "k"]).string == "after")
    print("sentinel failover: followed after \(failures) refused or stale writes")
  }
}
