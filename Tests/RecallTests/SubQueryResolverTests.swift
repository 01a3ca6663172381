import Bitmaps
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Synchronization
import Testing

/// A shared cache in memory, standing in for Redis in unit tests (RedisStoreTests use the real one).
final class MemoryBitmapCache: BitmapCache {
  let entries = Mutex<[String: [UInt8]]>([:])
  func get(_ key: String) async -> RoaringBitmap? { entries.withLock { $0[key] }.flatMap(RoaringBitmap.fromPortable) }
  func put(_ key: String, _ bitmap: RoaringBitmap) async { entries.withLock { $0[key] = bitmap.portableBytes } }
}

@Suite struct SubQueryResolverTests {
  static let generation = RecallChannelTests.generation

  @Test func rangesGoThroughBothLevelsAndAgreeWithTheIndex() async throws {
    let shared = MemoryBitmapCache()
    let expression = try #require(try FilterParser.parse("category:kitchen AND price:[5 TO 20} AND NOT price:>=100"))
    let reference = try CompiledFilter(expression, generation: Self.generation).documents()

    let first = SubQueryResolver(shared: shared)
    #expect(try await first.compile(expression, generation: Self.generation).documents() == reference)
    #expect(first.stats == .init(localHits: 0, sharedHits: 0, misses: 2), "two range clauses, both computed")
    #expect(shared.entries.withLock { Set($0.keys) } == ["t|price:[5.0 TO 20.0}", "t|price:[100.0 TO *]"])
    _ = try await first.compile(expression, generation: Self.generation)
    #expect(first.stats.localHits == 2)

    let replica = SubQueryResolver(shared: shared)  // another replica: its LRU is empty, Redis is not
    #expect(try await replica.compile(expression, generation: Self.generation).documents() == reference)
    #expect(replica.stats == .init(localHits: 0, sharedHits: 2, misses: 0))
    #expect(replica.stats.sharedHitRate == 1)
  }

  @Test func canonicalFormsShareEntries() throws {
    let a = try #require(try FilterParser.parse("price:[10 TO 50]"))
    let b = try #require(try FilterParser.parse("price:[10.0 TO 50.00]"))
    #expect(a.canonical == b.canonical)
    #expect(try #require(try FilterParser.parse("brand:Nordhem")).canonical == "brand:nordhem")
  }

  @Test func lruEvictsTheLeastRecentlyUsed() {
    let lru = LRUBitmapCache(capacity: 2)
    lru.put("a", RoaringBitmap([1]))
    lru.put("b", RoaringBitmap([2]))
    _ = lru.get("a")
    lru.put("c", RoaringBitmap([3]))
    #expect(lru.get("b") == nil)
    #expect(lru.get("a")?.values == [1] && lru.get("c")?.values == [3])
    lru.put("a", RoaringBitmap([9]))
    #expect(lru.get("a")?.values == [9] && lru.count == 2)
  }
}
