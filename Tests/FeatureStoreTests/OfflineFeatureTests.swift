import FeatureStore
import Foundation
import FunnelCore
import Synchronization
import Testing

/// A user feature source that counts fetches and can be slowed down or broken.
final class CountingUserSource: OfflineFeatureSource {
  let fetches = Atomic<Int>(0)
  /// Users asked for, summed over fetches.
  let usersFetched = Atomic<Int>(0)
  let delay: Duration
  let failing: Bool

  init(delay: Duration = .zero, failing: Bool = false) {
    self.delay = delay
    self.failing = failing
  }

  func loadItemFeatures() async throws -> ItemFeatureTable { .empty }

  func userFeatures(_ users: [UserID]) async throws -> [UserID: [String: Float]] {
    fetches.add(1, ordering: .relaxed)
    usersFetched.add(users.count, ordering: .relaxed)
    if delay > .zero { try await Task.sleep(for: delay) }
    if failing { throw FunnelError(.unavailable, "store down") }
    return Dictionary(uniqueKeysWithValues: users.filter { $0 != "nobody" }.map { ($0, ["ltv": Float($0.count)]) })
  }
}

/// A user source whose answers change with every fetch (`version` = fetches so far), can fail, and
/// can hold its fetches until the test opens its gate.
final class ChangingUserSource: OfflineFeatureSource {
  let fetches = Atomic<Int>(0)
  /// Fetches that have answered or failed.
  let finished = Atomic<Int>(0)
  let failing = Atomic<Bool>(false)
  private let gate = Mutex<(open: Bool, held: [CheckedContinuation<Void, Never>])>((true, []))

  func loadItemFeatures() async throws -> ItemFeatureTable { .empty }

  func userFeatures(_ users: [UserID]) async throws -> [UserID: [String: Float]] {
    let version = fetches.add(1, ordering: .relaxed).newValue
    defer { finished.add(1, ordering: .relaxed) }
    await withCheckedContinuation { continuation in
      let open = gate.withLock { g in
        if !g.open { g.held.append(continuation) }
        return g.open
      }
      if open { continuation.resume() }
    }
    if failing.load(ordering: .relaxed) { throw FunnelError(.unavailable, "store down") }
    return Dictionary(uniqueKeysWithValues: users.map { ($0, ["version": Float(version)]) })
  }

  /// Holds later fetches (`open: false`) or lets them and every held one go.
  func setGate(open: Bool) {
    let held = gate.withLock { g in
      g.open = open
      return open ? g.held.removeAllAndReturn() : []
    }
    for continuation in held { continuation.resume() }
  }
}

extension Array {
  mutating func removeAllAndReturn() -> [Element] {
    defer { removeAll() }
    return self
  }
}

/// Polls `condition` every 5 ms for up to 5 s.
func waitUntil(_ condition: () -> Bool) async throws {
  let end = ContinuousClock.now + .seconds(5)
  while !condition() {
    guard ContinuousClock.now < end else { Issue.record("condition not met within 5 s"); return }
    try await Task.sleep(for: .milliseconds(5))
  }
}

final class ManualClock: Sendable {
  let ms = Atomic<Int64>(1_000)
  var now: @Sendable () -> Int64 { { self.ms.load(ordering: .relaxed) } }
}

@Suite struct UserFeatureCacheTests {
  @Test func cachesUntilTheTTLAndCoalescesConcurrentReads() async throws {
    let source = CountingUserSource(delay: .milliseconds(50))
    let clock = ManualClock()
    let cache = UserFeatureCache(source: source, capacity: 10, ttlMs: 1_000, now: clock.now)
    let answers = try await withThrowingTaskGroup(of: [String: Float].self) { group in
      for _ in 0..<20 { group.addTask { try await cache.features(of: "alice") } }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(answers.allSatisfy { $0 == ["ltv": 5] })
    #expect(source.fetches.load(ordering: .relaxed) == 1, "twenty concurrent reads, one fetch")
    #expect(try await cache.features(of: "alice") == ["ltv": 5])
    #expect(source.fetches.load(ordering: .relaxed) == 1, "a hit within the TTL")
    clock.ms.add(1_001, ordering: .relaxed)
    _ = try await cache.features(of: "alice")
    #expect(source.fetches.load(ordering: .relaxed) == 2, "expired after the TTL")
    #expect(try await cache.features(of: "nobody") == [:], "no profile is an empty profile")
  }

  @Test func expiredProfilesAreServedStaleWhileOneReadRefreshesThem() async throws {
    let source = ChangingUserSource()
    let clock = ManualClock()
    let cache = UserFeatureCache(source: source, capacity: 10, ttlMs: 1_000, staleMs: 10_000, now: clock.now)
    #expect(try await cache.features(of: "alice") == ["version": 1])
    clock.ms.add(1_001, ordering: .relaxed)
    // Expired, and the store holds every fetch: readers still answer, from the old entry, and one
    // background fetch is sent to refresh it.
    source.setGate(open: false)
    let answers = try await withThrowingTaskGroup(of: [String: Float].self) { group in
      for _ in 0..<10 { group.addTask { try await cache.features(of: "alice") } }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(answers.allSatisfy { $0 == ["version": 1] })
    #expect(cache.staleHits == 10)
    #expect(source.finished.load(ordering: .relaxed) == 1, "answered before the refresh")
    try await waitUntil { source.fetches.load(ordering: .relaxed) == 2 }
    source.setGate(open: true)
    try await waitUntil { source.finished.load(ordering: .relaxed) == 2 }
    try await Task.sleep(for: .milliseconds(20))  // the refreshed entry is stored after the source answers
    #expect(source.fetches.load(ordering: .relaxed) == 2, "ten stale reads, one refresh")
    #expect(try await cache.features(of: "alice") == ["version": 2], "the refreshed entry is fresh")
    // A refresh that fails leaves the stale entry serving; past ttl + stale a read waits for the store.
    source.failing.store(true, ordering: .relaxed)
    clock.ms.add(1_001, ordering: .relaxed)
    #expect(try await cache.features(of: "alice") == ["version": 2])
    try await waitUntil { source.finished.load(ordering: .relaxed) == 3 }
    clock.ms.add(10_000, ordering: .relaxed)
    await #expect(throws: FunnelError.self) { try await cache.features(of: "alice") }
  }

  @Test func cachedFeaturesAnswersOnlyFromMemory() async throws {
    let source = ChangingUserSource()
    let clock = ManualClock()
    let cache = UserFeatureCache(source: source, capacity: 10, ttlMs: 1_000, staleMs: 5_000, now: clock.now)
    #expect(cache.cachedFeatures(of: "alice") == nil, "nothing cached yet")
    #expect(cache.counts.misses == 0 && source.fetches.load(ordering: .relaxed) == 0, "a memory-only look is not a miss")
    #expect(try await cache.features(of: "alice") == ["version": 1])
    #expect(cache.cachedFeatures(of: "alice") == ["version": 1])
    #expect(cache.counts.hits == 1 && source.fetches.load(ordering: .relaxed) == 1)
    // Stale: answered from memory, and one refresh goes out.
    clock.ms.add(1_001, ordering: .relaxed)
    #expect(cache.cachedFeatures(of: "alice") == ["version": 1])
    try await waitUntil { source.finished.load(ordering: .relaxed) == 2 }
    try await waitUntil { cache.cachedFeatures(of: "alice") == ["version": 2] }
    #expect(source.fetches.load(ordering: .relaxed) == 2, "one refresh")
    // Past its stale window an entry is gone for a memory-only look too.
    clock.ms.add(6_001, ordering: .relaxed)
    #expect(cache.cachedFeatures(of: "alice") == nil)
  }

  @Test func missesDuringBusyFetchesShareTheNextOne() async throws {
    let source = CountingUserSource(delay: .milliseconds(200))
    let cache = UserFeatureCache(source: source, capacity: 100, ttlMs: 60_000, now: ManualClock().now)
    let users = (0..<30).map { "user-\($0)" }
    let answers = try await withThrowingTaskGroup(of: (String, [String: Float]).self) { group in
      for user in users { group.addTask { (user, try await cache.features(of: user)) } }
      return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
    }
    #expect(users.allSatisfy { answers[$0] == ["ltv": Float($0.count)] })
    #expect(source.usersFetched.load(ordering: .relaxed) == 30, "each user fetched once")
    let fetches = source.fetches.load(ordering: .relaxed)
    #expect(fetches == cache.fetches)
    // At most four fetches start at once; the other misses wait for one of them and go together.
    #expect(fetches < 30 && fetches <= 12, "\(fetches) fetches for 30 users")
    #expect(cache.counts.misses == 30)
  }

  @Test func failuresReachEveryWaiterAndAreNotCached() async throws {
    let source = CountingUserSource(delay: .milliseconds(20), failing: true)
    let cache = UserFeatureCache(source: source, capacity: 10, ttlMs: 1_000, now: ManualClock().now)
    let failures = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<5 { group.addTask { (try? await cache.features(of: "bob")) == nil } }
      return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
    }
    #expect(failures == 5)
    await #expect(throws: FunnelError.self) { try await cache.features(of: "bob") }
    #expect(source.fetches.load(ordering: .relaxed) >= 2, "a failure is not cached")
  }

  @Test func evictsTheLeastRecentlyUsedBeyondCapacity() async throws {
    let source = CountingUserSource()
    let cache = UserFeatureCache(source: source, capacity: 10, ttlMs: 60_000, now: ManualClock().now)
    for i in 0..<11 { _ = try await cache.features(of: "user-\(i)") }
    #expect(source.fetches.load(ordering: .relaxed) == 11)
    _ = try await cache.features(of: "user-10")
    #expect(source.fetches.load(ordering: .relaxed) == 11, "the newest stays")
    _ = try await cache.features(of: "user-0")
    #expect(source.fetches.load(ordering: .relaxed) == 12, "the oldest was evicted")
  }
}

@Suite struct ItemFeatureTableTests {
  @Test func numbersAndBooleansBecomeColumnsOthersAreSkipped() throws {
    let documents = [
      #"{"_id": "A", "ctr_7d": 0.25, "sales": 12, "on_sale": true, "title": "x", "embedding": [1, 2]}"#,
      #"{"_id": "B", "ctr_7d": 0.5}"#,
      #"{"no_id": 1}"#,
    ].map { Data($0.utf8) }
    let table = try ItemFeatureTable.fromDocuments(documents, version: "v")
    #expect(table.names == ["ctr_7d", "on_sale", "sales"])
    #expect(table.itemIDs == ["A", "B"])
    #expect(table.value(row: 0, column: try #require(table.column("sales"))) == 12)
    #expect(table.value(row: 0, column: try #require(table.column("on_sale"))) == 1)
    #expect(table.value(row: 1, column: try #require(table.column("sales"))).isNaN, "absent is missing")
    #expect(throws: FunnelError.self) { try ItemFeatureTable.fromDocuments([Data("[1]".utf8)], version: "v") }
  }
}

@Suite struct PackedInteractionTests {
  @Test func roundTripsEveryKind() {
    for kind in EventKind.allCases {
      let interaction = RecentInteraction(itemID: "SKU-ü-1", kind: kind, timestampMs: -5)
      #expect(PackedInteraction.decode(PackedInteraction.encode(interaction)) == interaction)
    }
  }
}

@Suite struct ItemActivityTests {
  @Test func countsDecayWithTheirHalfLives() {
    var a = ItemActivity()
    a.add(.view, at: 0)
    a.add(.view, at: 0)
    a.add(.purchase, at: 0)
    a.add(.exposure, at: 0)  // not counted
    let names = ItemActivity.featureNames
    #expect(names == ["rt.views_1h", "rt.views_24h", "rt.clicks_1h", "rt.clicks_24h", "rt.carts_1h", "rt.carts_24h",
                      "rt.purchases_1h", "rt.purchases_24h"])
    #expect(a.count(0, at: 0) == 2 && a.count(6, at: 0) == 1)
    #expect(abs(a.count(0, at: 3_600_000) - 1) < 1e-12, "one hour halves the 1 h count")
    #expect(abs(a.count(1, at: 86_400_000) - 1) < 1e-12, "one day halves the 24 h count")
    for now in [-5.0, 0, 1_234_567, 90_000_000] {
      let (hour, day) = a.decayFactors(to: now)
      for i in 0..<8 { #expect(a.counts[i] * (i % 2 == 0 ? hour : day) == a.count(i, at: now), "count \(i) at \(now)") }
    }
    // A late event counts as much as its age allows, and does not move the clock back.
    a.add(.click, at: -3_600_000)
    #expect(abs(a.count(2, at: 0) - 0.5) < 1e-12)
    #expect(a.updatedMs == 0)
    #expect(ItemActivity(packed: a.packed) == a)
    #expect(ItemActivity(packed: [1, 2, 3]) == nil)
  }
}

@Suite struct CircuitBreakerTests {
  struct Down: Error {}

  @Test func opensAfterRepeatedFailuresAndRecoversThroughOneTrial() async throws {
    let clock = ManualClock()
    let breaker = CircuitBreaker(name: "redis", failureThreshold: 3, openMs: 1_000, now: clock.now)
    let calls = Atomic<Int>(0)
    let failing: @Sendable () async throws -> Int = { calls.add(1, ordering: .relaxed); throw Down() }
    for _ in 0..<3 { await #expect(throws: Down.self) { try await breaker.run(failing) } }
    #expect(breaker.current == .open(untilMs: 2_000))
    let error = await #expect(throws: FunnelError.self) { try await breaker.run(failing) }
    #expect(error?.kind == .unavailable && error?.message.contains("redis: circuit open") == true)
    #expect(calls.load(ordering: .relaxed) == 3, "an open circuit does not call the store")
    clock.ms.add(1_000, ordering: .relaxed)
    await #expect(throws: Down.self) { try await breaker.run(failing) }  // the trial fails: open again
    #expect(breaker.current == .open(untilMs: 3_000))
    clock.ms.add(1_000, ordering: .relaxed)
    #expect(try await breaker.run { 42 } == 42, "a successful trial closes the circuit")
    #expect(breaker.current == .closed(failures: 0))
    #expect(breaker.counts.opened == 2 && breaker.counts.rejected == 1)
  }

  @Test func successesResetTheFailureCount() async throws {
    let breaker = CircuitBreaker(name: "mongo", failureThreshold: 2, openMs: 1_000, now: ManualClock().now)
    await #expect(throws: Down.self) { try await breaker.run { () async throws -> Int in throw Down() } }
    _ = try await breaker.run { 1 }
    await #expect(throws: Down.self) { try await breaker.run { () async throws -> Int in throw Down() } }
    #expect(breaker.current == .closed(failures: 1))
  }
}

@Suite struct PackedEventTests {
  @Test func roundTripsEveryFieldAndRefusesCorruptBytes() {
    let event = BehaviourEvent(eventID: "e-1", userID: "ü-2", sessionID: "s", itemID: "SKU 9", kind: .purchase,
                               timestampMs: -5, quantity: 3, price: 12.75, requestID: "r", country: "GB")
    let packed = PackedEvent.encode(event)
    #expect(PackedEvent.decode(packed) == event)
    #expect(PackedEvent.decode(Array(packed.dropLast())) == nil, "truncated")
    #expect(PackedEvent.decode(packed + [0]) == nil, "trailing bytes")
    #expect(PackedEvent.decode([9] + packed.dropFirst()) == nil, "unknown layout")
    #expect(PackedEvent.decode([]) == nil)
  }
}
