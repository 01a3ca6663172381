import FeatureStore
import FunnelCore
import Synchronization
import Testing

/// `ItemActivityCache` on a fake clock over a source that records what it is asked.
@Suite struct ItemActivityCacheTests {
  final class RecordingSource: ItemActivitySource {
    let asked = Mutex<[[ItemID]]>([])
    let failing = Atomic<Bool>(false)
    let reads = Atomic<Int>(0)

    func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
      asked.withLock { $0.append(items) }
      let n = reads.add(1, ordering: .relaxed).newValue
      if failing.load(ordering: .relaxed) { throw FunnelError(.unavailable, "redis is down") }
      // Item "none" has no activity; the others a count that says which read produced it.
      return items.map { $0 == "none" ? nil : ItemActivity(updatedMs: Double(n), counts: SIMD8(Double(n), 0, 0, 0, 0, 0, 0, 0)) }
    }
  }

  /// Test items as documents of generation "g" (numbered in order of first use), read through the
  /// cache's by-document path, which names a document by its item id.
  static let documents = Mutex<[ItemID]>([])
  static func read(_ cache: ItemActivityCache, _ items: [ItemID]) async throws -> [ItemActivity?] {
    let docs = documents.withLock { known in
      items.map { item in
        if let i = known.firstIndex(of: item) { return DocID(rawValue: UInt32(i)) }
        known.append(item)
        return DocID(rawValue: UInt32(known.count - 1))
      }
    }
    return try await cache.itemActivity(of: docs, generation: "g") { doc, bytes in
      bytes += documents.withLock { $0[doc.index] }.utf8
    }
  }

  final class FakeClock: Sendable {
    let ms = Atomic<Int64>(1_000)
    func advance(_ by: Int64) { ms.add(by, ordering: .relaxed) }
  }

  @Test func freshItemsComeFromMemoryAndOnlyTheRestAreRead() async throws {
    let (source, clock) = (RecordingSource(), FakeClock())
    let cache = ItemActivityCache(source, maxAgeMs: 250, now: { clock.ms.load(ordering: .relaxed) })
    let first = try await Self.read(cache, ["a", "b", "none"])
    #expect(first.map { $0?.counts[0] } == [1, 1, nil])
    clock.advance(100)
    let second = try await Self.read(cache, ["c", "b", "a", "none"])
    #expect(second.map { $0?.counts[0] } == [2, 1, 1, nil], "a, b and the absent item are still fresh; only c is read")
    #expect(source.asked.withLock { $0 } == [["a", "b", "none"], ["c"]])
    clock.advance(200)  // a, b, none are 300 ms old now; c 200 ms
    let third = try await Self.read(cache, ["a", "c"])
    #expect(third.map { $0?.counts[0] } == [3, 2])
    #expect(source.asked.withLock { $0.last } == ["a"])
    #expect(cache.counts == (hits: 4, misses: 5))
  }

  @Test func aFailedReadIsThrownAndNotCached() async throws {
    let (source, clock) = (RecordingSource(), FakeClock())
    let cache = ItemActivityCache(source, maxAgeMs: 250, now: { clock.ms.load(ordering: .relaxed) })
    source.failing.store(true, ordering: .relaxed)
    await #expect(throws: FunnelError.self) { try await Self.read(cache, ["a"]) }
    source.failing.store(false, ordering: .relaxed)
    #expect(try await Self.read(cache, ["a"]).first??.counts[0] == 2, "read again once the store answers")
  }

  /// Entries rotate through two tables: a full or `maxAgeMs`-old current table becomes the
  /// previous one (still served while fresh), and the previous one is dropped.
  @Test func tablesRotateWhenFullOrOldAndFreshEntriesSurviveOneRotation() async throws {
    let (source, clock) = (RecordingSource(), FakeClock())
    let cache = ItemActivityCache(source, maxAgeMs: 250, capacity: 3, now: { clock.ms.load(ordering: .relaxed) })
    _ = try await Self.read(cache, ["a", "b"])
    clock.advance(300)
    _ = try await Self.read(cache, ["c"])  // rotation by age: a and b (expired) move to the previous table
    _ = try await Self.read(cache, ["d", "c"])
    #expect(source.asked.withLock { $0 } == [["a", "b"], ["c"], ["d"]], "c stayed")
    _ = try await Self.read(cache, ["e", "f", "c"])  // the current table now holds c, d, e, f
    _ = try await Self.read(cache, ["e", "f"])  // full: rotated, e and f served from the previous table
    #expect(source.asked.withLock { $0 }.suffix(2) == [["d"], ["e", "f"]], "no read for e and f")
    _ = try await Self.read(cache, ["g", "h", "i"])  // the current table is full again
    _ = try await Self.read(cache, ["e"])  // second rotation: the table holding e is dropped
    #expect(source.asked.withLock { $0 }.suffix(2) == [["g", "h", "i"], ["e"]])
  }

  /// Reads by item id (no documents: not the request path) go straight to the source, uncached.
  @Test func readsByItemIDPassThrough() async throws {
    let source = RecordingSource()
    let cache = ItemActivityCache(source, maxAgeMs: 250, now: { 1_000 })
    _ = try await cache.itemActivity(["a", "none"])
    #expect(try await cache.itemActivity(["a"]).first??.counts[0] == 2)
    #expect(source.asked.withLock { $0 } == [["a", "none"], ["a"]])
  }

  /// By document: only the missing items are named (their ids made), and a new index generation,
  /// whose documents number items anew, starts empty.
  @Test func byDocumentNamesOnlyWhatItReadsAndForgetsAnOldGeneration() async throws {
    let (source, clock) = (RecordingSource(), FakeClock())
    let cache = ItemActivityCache(source, maxAgeMs: 250, now: { clock.ms.load(ordering: .relaxed) })
    let named = Mutex<[DocID]>([])
    func name(_ doc: DocID, _ bytes: inout [UInt8]) {
      named.withLock { $0.append(doc) }
      bytes += (doc.rawValue == 9 ? "none" : "item-\(doc.rawValue)").utf8
    }
    let first = try await cache.itemActivity(of: [DocID(1), DocID(2), DocID(9)], generation: "g1", appendID: name)
    #expect(first.map { $0?.counts[0] } == [1, 1, nil])
    let second = try await cache.itemActivity(of: [DocID(2), DocID(3), DocID(9)], generation: "g1", appendID: name)
    #expect(second.map { $0?.counts[0] } == [1, 2, nil])
    #expect(named.withLock { $0 } == [DocID(1), DocID(2), DocID(9), DocID(3)], "fresh documents are not named again")
    _ = try await cache.itemActivity(of: [DocID(2)], generation: "g2", appendID: name)
    #expect(source.asked.withLock { $0 } == [["item-1", "item-2", "none"], ["item-3"], ["item-2"]],
            "document 2 of generation g2 is read anew")
    #expect(cache.counts == (hits: 2, misses: 5))
  }
}
