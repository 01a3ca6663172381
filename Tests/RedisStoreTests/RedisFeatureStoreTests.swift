import FeatureStore
import Foundation
import FunnelCore
import FunnelTestSupport
import RedisStore
import Testing

/// Real-time user features in the real Redis named by REDIS_URL (Scripts/test starts one).
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisFeatureStoreTests {
  func store(_ url: String, cap: Int = 200, keyPrefix: String = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):") throws -> RedisFeatureStore {
    var limits = RedisFeatureStore.Limits()
    limits.interactionsPerUser = cap
    return RedisFeatureStore(client: try RedisClient(url: url), keyPrefix: keyPrefix, limits: limits)
  }

  static func event(_ id: String, user: String = "u1", item: String, _ kind: EventKind = .view, at ms: Int64) -> BehaviourEvent {
    BehaviourEvent(eventID: id, userID: user, sessionID: "s", itemID: item, kind: kind, timestampMs: ms, quantity: 1, price: 0)
  }

  @Test(arguments: StoreEnvironment.redisURLs) func readsNewestFirstInTimeOrderEvenWhenEventsArriveLate(url: String) async throws {
    let redis = try store(url)
    let result = try await redis.append([
      Self.event("e1", item: "A", at: 1_000), Self.event("e2", item: "B", .purchase, at: 3_000),
      Self.event("e3", item: "C", .addToCart, at: 2_000),  // late
      Self.event("e4", item: "D", .exposure, at: 4_000),   // exposures are not interactions
      Self.event("e5", user: "u2", item: "Z", at: 5_000),
    ])
    #expect(result == EventAppendResult(accepted: 5, duplicates: 0))
    let recent = try await redis.recentActivity(of: "u1", limit: 10)
    #expect(recent == [
      RecentInteraction(itemID: "B", kind: .purchase, timestampMs: 3_000),
      RecentInteraction(itemID: "C", kind: .addToCart, timestampMs: 2_000),
      RecentInteraction(itemID: "A", kind: .view, timestampMs: 1_000),
    ])
    #expect(try await redis.recentActivity(of: "u1", limit: 2).count == 2)
    #expect(try await redis.recentActivity(of: "nobody", limit: 10).isEmpty)
  }

  @Test(arguments: StoreEnvironment.redisURLs) func replayedEventsChangeNothing(url: String) async throws {
    let redis = try store(url)
    let batch = [Self.event("r1", item: "A", at: 1), Self.event("r2", item: "B", at: 2)]
    #expect(try await redis.append(batch) == EventAppendResult(accepted: 2, duplicates: 0))
    #expect(try await redis.append(batch + [Self.event("r3", item: "C", at: 3)]) == EventAppendResult(accepted: 1, duplicates: 2))
    #expect(try await redis.recentActivity(of: "u1", limit: 10).map(\.itemID) == ["C", "B", "A"])
  }

  @Test(arguments: StoreEnvironment.redisURLs) func keepsOnlyTheNewestInteractionsAndForgets(url: String) async throws {
    let redis = try store(url, cap: 5)
    _ = try await redis.append((0..<12).map { Self.event("c\($0)", item: "I\($0)", at: Int64($0)) })
    #expect(try await redis.recentActivity(of: "u1", limit: 50).map(\.itemID) == ["I11", "I10", "I9", "I8", "I7"])
    #expect(try await redis.forget(user: "u1") == 5)
    #expect(try await redis.recentActivity(of: "u1", limit: 50).isEmpty)
    #expect(try await redis.forget(user: "u1") == 0, "forgetting twice is harmless")
  }

  /// An event of a user who did not consent moves the item's counters and the minute's business
  /// counters, and no key, value or stream names the user.
  @Test(arguments: StoreEnvironment.redisURLs) func anonymousEventsMoveOnlyAggregates(url: String) async throws {
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let redis = try store(url, keyPrefix: prefix)
    let minute: Int64 = 29_000_000
    let buy = BehaviourEvent(eventID: "anon-1", userID: "secret-user-77", sessionID: "s", itemID: "A", kind: .purchase,
                             timestampMs: minute * 60_000, quantity: 2, price: 5, country: "DE")
    let view = Self.event("anon-2", user: "secret-user-77", item: "A", .view, at: minute * 60_000 + 1)
    #expect(try await redis.countAnonymously([buy, view], category: { _ in "mugs" }) == 2)
    #expect(try await redis.countAnonymously([buy], category: { _ in "mugs" }) == 0, "idempotent by event id")
    #expect(try await redis.recentActivity(of: "secret-user-77", limit: 10).isEmpty)
    let activity = try #require(try await redis.itemActivity(["A"]).first ?? nil)
    #expect(abs(activity.counts[6] - 1) < 1e-3 && abs(activity.counts[0] - 1) < 1e-3, "one purchase, one view: \(activity)")
    let business = try await redis.businessCounters(minute: minute)
    #expect(business["orders"] == 1 && business["units"] == 2 && business["revenue"] == 10, "\(business)")
    #expect(business["category:mugs:orders"] == 1 && business["country:DE:orders"] == 1, "\(business)")
    let client = try RedisClient(url: url)
    let keys = try await client.onEveryPrimary(["KEYS", prefix + "*"]).flatMap { $0.reply.array ?? [] }
    var dump = ""
    for key in keys.compactMap(\.string) {
      dump += key + " "
      if case .bulk(let bytes) = try await client.command(["DUMP", key]) { dump += String(decoding: bytes, as: UTF8.self) }
    }
    #expect(!dump.contains("secret-user-77"), "a key or value names the user: \(dump)")
    #expect(!keys.compactMap(\.string).contains(prefix + "anonymous"), "the stand-in key is never written")
  }

  /// The Lua update in Redis and `ItemActivity.add` in Swift must agree on every count.
  @Test(arguments: StoreEnvironment.redisURLs) func itemCountersInRedisEqualTheSwiftDefinition(url: String) async throws {
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let redis = try store(url, keyPrefix: prefix)
    let events = [Self.event("a1", item: "X", .view, at: 10_000_000), Self.event("a2", item: "X", .view, at: 10_600_000),
                  Self.event("a3", item: "X", .purchase, at: 12_000_000), Self.event("a4", item: "X", .click, at: 9_000_000),
                  Self.event("a5", item: "X", .exposure, at: 12_500_000), Self.event("a6", item: "Y", .addToCart, at: 1)]
    _ = try await redis.append(events)
    _ = try await redis.append(events)  // replays count nothing
    var x = ItemActivity(), y = ItemActivity()
    for e in events where e.itemID == "X" { x.add(e.kind, at: e.timestampMs) }
    y.add(.addToCart, at: 1)
    let read = try await redis.itemActivity(["X", "Y", "Z"])
    #expect(read.count == 3 && read[2] == nil)
    for (got, want) in zip(read.prefix(2), [x, y]) {
      let got = try #require(got)
      #expect(got.updatedMs == want.updatedMs)
      for i in 0..<8 { #expect(abs(got.counts[i] - want.counts[i]) < 1e-9, "count \(i): \(got.counts[i]) vs \(want.counts[i])") }
    }
    // The by-document path (keys packed in one buffer, values decoded from the reply) reads the same,
    // an item without counters as nil, and a key holding something else as nil.
    let ids: [ItemID] = ["X", "Z", "Y", "junk", "X"]
    _ = try await RedisClient(url: url).command(["SET", redis.itemKey("junk"), "not 72 bytes"])
    let byDocument = try await redis.itemActivity(of: ids.indices.map { DocID(rawValue: UInt32($0)) }, generation: "g") { doc, bytes in
      bytes += ids[doc.index].utf8
    }
    #expect(byDocument == [read[0], nil, read[1], nil, read[0]])
    #expect(try await redis.itemActivity(ids) == byDocument)
  }

  /// The packed layout against the same interaction as JSON (what the issue asks to report).
  @Test func packedEntriesAreSmallerThanJSON() throws {
    let interaction = RecentInteraction(itemID: "SKU-104217", kind: .addToCart, timestampMs: 1_790_000_123_456)
    let packed = PackedInteraction.encode(interaction)
    #expect(PackedInteraction.decode(packed) == interaction)
    let json = try JSONSerialization.data(withJSONObject: [
      "item_id": interaction.itemID, "type": interaction.kind.rawValue, "timestamp_ms": interaction.timestampMs,
    ], options: [.sortedKeys])
    print("packed interaction: \(packed.count) bytes, JSON: \(json.count) bytes")
    #expect(packed.count == 20 && json.count >= 3 * packed.count)
    #expect(PackedInteraction.decode([2] + packed.dropFirst()) == nil, "an unknown layout is skipped")
    #expect(PackedInteraction.decode(Array(packed.prefix(10))) == nil, "an empty id is skipped")
  }
}
