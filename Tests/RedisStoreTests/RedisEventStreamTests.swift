import Foundation
import FeatureStore
import FunnelCore
import FunnelTestSupport
import RedisStore
import Testing

/// The event stream and its consumer group against the real Redis named by REDIS_URL.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisEventStreamTests {
  struct Fixture {
    let client: RedisClient
    let store: RedisFeatureStore
    let stream: RedisEventStream

    func consumer(_ name: String, claimIdleMs: Int = 5_000, batch: Int = 500, group: String = "g") -> RedisEventConsumer {
      var settings = RedisEventConsumer.Settings(consumer: name)
      settings.claimIdleMs = claimIdleMs
      settings.batchSize = batch
      settings.blockMs = 10
      settings.group = group
      return RedisEventConsumer(client: client, stream: stream, settings: settings)
    }

    /// Steps `consumer` until a step reads nothing; returns the summed outcome.
    func drain(_ consumer: RedisEventConsumer, nowMs: Int64 = 0) async throws -> RedisFeatureStore.ApplyOutcome {
      var total = RedisFeatureStore.ApplyOutcome()
      while true {
        let step = try await consumer.step(nowMs: nowMs) { try await store.apply($0, category: { "cat-" + $0.prefix(1) }) }
        total.applied += step.applied.applied
        total.duplicates += step.applied.duplicates
        total.dropped += step.applied.dropped
        if step.read == 0 { return total }
      }
    }
  }

  /// A stream at `url`: one shard on one server, four on a cluster (spread over its primaries).
  func fixture(_ url: String) throws -> Fixture {
    let client = try RedisClient(url: url, timeoutMs: 2_000)
    let store = RedisFeatureStore(client: client, keyPrefix: "funnel:test:\(UInt64.random(in: 0...UInt64.max)):")
    let shards = url.hasPrefix("redis-cluster://") ? 4 : 1
    return Fixture(client: client, store: store, stream: RedisEventStream(client: client, store: store, shards: shards))
  }

  static func events(_ count: Int, users: Int = 7, from: Int = 0) -> [BehaviourEvent] {
    (from..<from + count).map { (i: Int) -> BehaviourEvent in
      let kind: EventKind = i % 5 == 0 ? .purchase : .view
      let time: Int64 = 1_790_000_000_000 + Int64(i) * 1_000
      return BehaviourEvent(eventID: "ev-\(i)", userID: "u\(i % users)", itemID: "I\(i % 13)", kind: kind, timestampMs: time,
                            quantity: UInt32(1 + i % 3), price: 2.5, country: i % 2 == 0 ? "GB" : "FR")
    }
  }

  @Test(arguments: StoreEnvironment.redisURLs) func appendsOnceByEventID(url: String) async throws {
    let f = try fixture(url)
    let batch = Self.events(5)
    #expect(try await f.stream.append(batch) == EventAppendResult(accepted: 5, duplicates: 0))
    #expect(try await f.stream.append(batch + Self.events(1, from: 5))
            == EventAppendResult(accepted: 1, duplicates: 5, duplicateIndices: [0, 1, 2, 3, 4]))
    #expect(try await f.stream.length() == 6)
  }

  @Test(arguments: StoreEnvironment.redisURLs) func aConsumerKilledMidStreamLosesNoEvent(url: String) async throws {
    let f = try fixture(url)
    let events = Self.events(120)
    _ = try await f.stream.append(events)
    let doomed = f.consumer("a", claimIdleMs: 60_000, batch: 50)
    try await doomed.joinGroup()
    // It reads a batch and dies before storing or acknowledging it.
    struct Killed: Error {}
    await #expect(throws: Killed.self) { _ = try await doomed.step(nowMs: 0) { _ in throw Killed() } }
    // One shard: 50 delivered and unacknowledged, 70 not delivered. Several: the first shard read
    // holds what was delivered (at most a batch), the rest waits.
    let backlog = try await doomed.backlog()
    #expect(backlog.pending > 0 && backlog.pending <= 50 && backlog.pending + (backlog.lag ?? -1) == 120, "\(backlog)")
    if f.stream.streamKeys.count == 1 { #expect(backlog == (50, 70)) }
    let survivor = f.consumer("b", claimIdleMs: 30, batch: 50)
    try await Task.sleep(for: .milliseconds(60))
    let outcome = try await f.drain(survivor, nowMs: 0)
    #expect(outcome.applied == 120 && outcome.duplicates == 0)
    #expect(try await survivor.backlog() == (0, 0))
    for user in 0..<7 {
      let want = events.filter { $0.userID == "u\(user)" }.count
      #expect(try await f.store.recentActivity(of: "u\(user)", limit: 500).count == want)
    }
  }

  @Test(arguments: StoreEnvironment.redisURLs) func replayingTheStreamChangesNoCounter(url: String) async throws {
    let f = try fixture(url)
    let events = Self.events(60)
    _ = try await f.stream.append(events)
    #expect(try await f.drain(f.consumer("first")).applied == 60)
    func snapshot() async throws -> [String] {
      var lines: [String] = []
      for u in 0..<7 { lines.append("\(try await f.store.recentActivity(of: "u\(u)", limit: 500))") }
      lines.append("\(try await f.store.itemActivity((0..<13).map { "I\($0)" }))")
      for minute in Set(events.map { $0.timestampMs / 60_000 }).sorted() {
        lines.append("\(try await f.store.businessCounters(minute: minute).sorted { $0.key < $1.key })")
      }
      return lines
    }
    let before = try await snapshot()
    // A second group reads the whole stream again from the start (a replay).
    let replay = try await f.drain(f.consumer("again", group: "replay"))
    #expect(replay.applied == 0 && replay.duplicates == 60)
    #expect(try await snapshot() == before)
  }

  @Test(arguments: StoreEnvironment.redisURLs) func businessCountersEqualAHandSum(url: String) async throws {
    let f = try fixture(url)
    let events = Self.events(60)
    _ = try await f.stream.append(events)
    _ = try await f.drain(f.consumer("c"))
    let minute = events[0].timestampMs / 60_000
    let purchases = events.filter { $0.kind == .purchase && $0.timestampMs / 60_000 == minute }
    let counters = try await f.store.businessCounters(minute: minute)
    #expect(counters["orders"] == Double(purchases.count))
    #expect(counters["units"] == Double(purchases.map(\.quantity).reduce(0, +)))
    #expect(abs((counters["revenue"] ?? 0) - purchases.map { Double($0.quantity) * $0.price }.reduce(0, +)) < 1e-9)
    let gb = purchases.filter { $0.country == "GB" }
    #expect(counters["country:GB:orders"] == Double(gb.count))
    #expect(counters["category:cat-I:units"] == Double(purchases.map(\.quantity).reduce(0, +)))
  }

  @Test(arguments: StoreEnvironment.redisURLs) func forgettingDropsQueuedEventsButAcceptsLaterOnes(url: String) async throws {
    let f = try fixture(url)
    let queued = Self.events(14, users: 2)
    _ = try await f.stream.append(queued)
    #expect(try await f.stream.forget(user: "u0") == 7, "the user's 7 queued entries leave the stream")
    try await Task.sleep(for: .milliseconds(5))
    let later = BehaviourEvent(eventID: "after", userID: "u0", itemID: "I1", kind: .click, timestampMs: 1_790_000_100_000)
    _ = try await f.stream.append([later])
    let outcome = try await f.drain(f.consumer("d"))
    #expect(outcome.applied == 8)
    #expect(try await f.store.recentActivity(of: "u0", limit: 50).map(\.itemID) == ["I1"])
    #expect(try await f.store.recentActivity(of: "u1", limit: 50).count == 7)
    // An event accepted before the forget but applied after it is dropped by the store itself.
    let early = StreamedEvent(entryID: "1-0", acceptedMs: 1, event: queued[0])
    #expect(try await f.store.apply([early]).dropped == 1)
  }

  /// Forgetting deletes a user's entries through their entry list (an entry added behind the list's
  /// back stays, which shows the stream was not scanned); a list that overflowed falls back to
  /// scanning the stream, which finds every entry.
  @Test(arguments: StoreEnvironment.redisURLs) func forgettingCostsTheUsersEntriesNotTheStream(url: String) async throws {
    let f = try fixture(url)
    let capped = RedisEventStream(client: f.client, store: f.store, maxEntriesPerUser: 4)
    _ = try await capped.append(Self.events(14, users: 2))  // 7 each: both lists overflow at 4
    _ = try await capped.append([BehaviourEvent(eventID: "x", userID: "u9", itemID: "I1", kind: .view, timestampMs: 1_790_000_000_000)])
    let unlisted = PackedEvent.encode(BehaviourEvent(eventID: "y", userID: "u9", itemID: "I2", kind: .view,
                                                      timestampMs: 1_790_000_000_000))
    _ = try await f.client.pipeline(bytes: [[Array("XADD".utf8), Array(capped.streamKeys[0].utf8), Array("*".utf8), Array("e".utf8), unlisted]])
    #expect(try await capped.forget(user: "u9") == 1, "the listed entry only: the stream was not scanned")
    #expect(try await capped.forget(user: "u0") == 7, "an overflowed list falls back to the scan")
    #expect(try await capped.length() == 8)
    #expect(try await capped.forget(user: "u0") == 0)
  }
}

/// The exposure log keeps exposures for its retention only.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisExposureLogRetentionTests {
  static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

  @Test(arguments: StoreEnvironment.redisURLs) func exposuresOlderThanTheRetentionAreTrimmed(url: String) async throws {
    let client = try RedisClient(url: url, timeoutMs: 2_000)
    // Long enough that the write's own trim (right after it) keeps what it wrote on a loaded machine.
    // Three shards on a cluster (over its primaries), one on a server.
    let log = RedisExposureLog(client: client, keyPrefix: "funnel:test:\(UInt64.random(in: 0...UInt64.max)):",
                               shards: url.hasPrefix("redis-cluster://") ? 3 : 1, retentionMs: 2_000)
    func exposure(_ i: Int) -> Exposure {
      Exposure(requestID: "r\(i)", userID: "u\(i)", scene: "home", arm: "default", modelVersion: "m",
               timestampMs: Self.nowMs(), items: ["I1"])
    }
    try await log.write([exposure(1), exposure(2), exposure(3)])
    // Across shards the order is the entries' millisecond (ties in shard order): compare as a set.
    #expect(Set(try await log.exposures(sinceMs: 0).map(\.requestID)) == ["r1", "r2", "r3"])
    #expect(try await log.forget(user: "u3") == 1)
    #expect(try await log.exposures(sinceMs: 0).count == 2)
    try await Task.sleep(for: .milliseconds(2_100))
    try await log.trim(nowMs: Self.nowMs())
    #expect(try await log.exposures(sinceMs: 0).isEmpty, "both were logged more than 2 s ago")
    for key in log.streamKeys { _ = try await client.command(["DEL", key]) }
  }
}
