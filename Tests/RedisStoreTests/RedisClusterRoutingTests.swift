import FunnelTestSupport
@testable import RedisStore
import Testing

/// The pure parts of cluster routing: the slot function (against `CLUSTER KEYSLOT` of Redis 7),
/// the slot map, redirections, the key a command routes by, and the deployment URLs.
@Suite struct RedisClusterRoutingTests {
  @Test(arguments: [
    ("foo", 12_182), ("bar", 5_061), ("{user1000}.following", 3_443), ("user1000", 3_443),
    ("foo{}{bar}", 8_363), ("foo{{bar}}zap", 4_015), ("foo{bar}{zap}", 5_061), ("a{", 14_311), ("123456789", 12_739),
  ])
  func slotsMatchRedis(key: String, slot: Int) {
    #expect(RedisSlot.of(key) == slot)
  }

  @Test func crc16IsXmodem() {
    #expect(RedisSlot.crc16(Array("123456789".utf8)) == 0x31C3)
  }

  @Test func parsesClusterSlotsAndPatchesMoves() throws {
    func node(_ host: String, _ port: Int64) -> RedisReply { .array([.bulk(Array(host.utf8)), .integer(port), .bulk(Array("id".utf8))]) }
    let reply = RedisReply.array([
      .array([.integer(0), .integer(5_460), node("10.0.0.1", 7001), node("10.0.0.4", 7004)]),
      .array([.integer(5_461), .integer(10_922), node("", 7002)]),
      .array([.integer(10_923), .integer(16_383), node("10.0.0.3", 7003)]),
    ])
    var map = try RedisSlotMap(clusterSlots: reply, askedHost: "seed")
    #expect(map.coveredSlots == RedisSlot.count)
    #expect(map.node(forSlot: 0)?.text == "10.0.0.1:7001")
    #expect(map.node(forSlot: 6_000)?.text == "seed:7002", "an empty ip is the node asked")
    #expect(map.node(forSlot: 16_383)?.text == "10.0.0.3:7003")
    map.move(slot: 1, to: .init(host: "10.0.0.9", port: 7009))
    #expect(map.node(forSlot: 1)?.text == "10.0.0.9:7009" && map.node(forSlot: 2)?.text == "10.0.0.1:7001")
    #expect(map.servingNodes.count == 4)
    #expect(throws: RedisError.self) { try RedisSlotMap(clusterSlots: .array([.array([.integer(5), .integer(99_999), node("h", 1)])]), askedHost: "x") }
    #expect(throws: RedisError.self) { try RedisSlotMap(clusterSlots: .error("ERR This instance has cluster support disabled"), askedHost: "x") }
  }

  @Test func readsRedirections() {
    #expect(RedisSlotMap.redirection("MOVED 3999 127.0.0.1:6381") == .moved(slot: 3_999, to: .init(host: "127.0.0.1", port: 6_381)))
    #expect(RedisSlotMap.redirection("ASK 12 h:7000") == .ask(slot: 12, to: .init(host: "h", port: 7_000)))
    #expect(RedisSlotMap.redirection("MOVED 99999 h:1") == nil)
    #expect(RedisSlotMap.redirection("ERR something") == nil)
  }

  @Test func routesByTheCommandsKey() {
    func key(_ words: String...) -> String? { RedisCommandKey.of(words.map { Array($0.utf8) }).map { String(decoding: $0, as: UTF8.self) } }
    #expect(key("GET", "k") == "k")
    #expect(key("get", "k") == "k")
    #expect(key("EVAL", "script", "2", "a", "b", "x") == "a")
    #expect(key("EVAL", "script", "0", "x") == nil)
    #expect(key("XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "STREAMS", "s", ">") == "s")
    #expect(key("XINFO", "GROUPS", "s") == "s")
    #expect(key("XGROUP", "CREATE", "s", "g", "0") == "s")
    #expect(key("PING") == nil && key("PUBLISH", "ch", "m") == nil && key("SCAN", "0") == nil)
  }

  @Test func parsesDeployments() throws {
    guard case .cluster(let seeds) = try RedisDeployment(url: "redis-cluster://app:pw%40x@h1:7001,h2,10.0.0.3:7003") else {
      Issue.record("not a cluster"); return
    }
    #expect(seeds.map(\.address) == ["h1:7001", "h2:6379", "10.0.0.3:7003"])
    #expect(seeds.allSatisfy { $0.user == "app" && $0.password == "pw@x" })
    guard case .sentinel(let sentinels, let primary, let template) = try RedisDeployment(url: "redis-sentinel://:pw@s1,s2:5000/shop/2") else {
      Issue.record("not a sentinel URL"); return
    }
    #expect(sentinels.map(\.address) == ["s1:26379", "s2:5000"] && sentinels.allSatisfy { $0.password == nil })
    #expect(primary == "shop" && template.password == "pw" && template.database == 2)
    #expect(try RedisDeployment(url: "redis://h:1") == .single(try RedisEndpoint(url: "redis://h:1")))
  }

  @Test(arguments: ["redis-cluster://h:1/3", "redis-cluster://h1,,h2", "redis-sentinel://h1", "redis-sentinel://h1/",
                    "rediss://h:6380", "memcached://h", "redis-cluster://h:0"])
  func refusesBadDeployments(url: String) {
    #expect(throws: RedisError.self) { try RedisDeployment(url: url) }
  }

  @Test func errorsNeverShowThePassword() {
    #expect(RedisDeployment.redacted("redis://user:hunter2@h:1/0") == "redis://user:***@h:1/0")
    #expect(RedisDeployment.redacted("redis-cluster://:hunter2@a,b") == "redis-cluster://:***@a,b")
    #expect(RedisDeployment.redacted("redis://h:1") == "redis://h:1")
    do {
      _ = try RedisDeployment(url: "redis://u:hunter2@h:99999")
      Issue.record("accepted a bad port")
    } catch {
      #expect(!"\(error)".contains("hunter2"), "\(error)")
    }
  }
}
