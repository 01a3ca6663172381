import FunnelCore
import IndexFormat
import Recall
import Synchronization
import Testing

/// The text channel's query cache: a hit is exactly the list a miss computes, keys ignore the order
/// and repeats of terms but not the generation or k, and the least recently used query goes first.
@Suite struct TextMatchCacheTests {
  static let generation = RecallChannelTests.generation

  static func recall(_ terms: [String], cache: TextMatchCache?, quota: Int = 50,
                     generation: IndexGeneration = generation) -> [Candidate] {
    var collector = CandidateCollector()
    TextRecall(cache: cache).recall(RecallRequest(queryTerms: terms), in: generation, quota: quota, into: &collector)
    return collector.candidates
  }

  @Test func aHitIsWhatAMissComputes() {
    let tally = Tally()
    let cache = TextMatchCache(capacity: 8, counted: tally.count)
    let uncached = Self.recall(["ceramic", "mug"], cache: nil)
    #expect(uncached.count > 5)
    let miss = Self.recall(["ceramic", "mug"], cache: cache)
    let hit = Self.recall(["mug", "ceramic", "mug"], cache: cache)
    #expect(miss == uncached && hit == uncached)
    #expect(tally.hits == 1 && tally.misses == 1 && cache.count == 1)
  }

  @Test func theGenerationAndKArePartOfTheKey() {
    var scored = 0
    let tally = Tally()
    let cache = TextMatchCache(capacity: 8, counted: tally.count)
    let compute: () -> [(DocID, Float)] = { scored += 1; return [(DocID(rawValue: UInt32(scored)), 1)] }
    let first = cache.top(terms: ["mug"], version: "g1", k: 10, compute: compute)
    #expect(cache.top(terms: ["mug"], version: "g1", k: 10, compute: compute).map(\.0) == first.map(\.0))
    _ = cache.top(terms: ["mug"], version: "g2", k: 10, compute: compute)
    _ = cache.top(terms: ["mug"], version: "g1", k: 20, compute: compute)
    _ = cache.top(terms: ["mugs"], version: "g1", k: 10, compute: compute)
    #expect(scored == 4 && tally.hits == 1 && tally.misses == 4)
  }

  @Test func theLeastRecentlyUsedQueryIsEvicted() {
    let tally = Tally()
    let cache = TextMatchCache(capacity: 2, counted: tally.count)
    for terms in [["mug"], ["lamp"], ["mug"], ["yoga"]] {
      _ = cache.top(terms: terms, version: "g", k: 5) { [] }
    }
    // "lamp" was used least recently when "yoga" came: it is scored again, "mug" is not.
    _ = cache.top(terms: ["mug"], version: "g", k: 5) { [] }
    _ = cache.top(terms: ["lamp"], version: "g", k: 5) { [] }
    #expect(tally.hits == 2 && tally.misses == 4 && cache.count == 2)
  }
}

/// Counts the cache's lookups as the serving metrics would.
private final class Tally: Sendable {
  private let counts = Mutex((hits: 0, misses: 0))
  var hits: Int { counts.withLock { $0.hits } }
  var misses: Int { counts.withLock { $0.misses } }
  func count(_ hit: Bool) { counts.withLock { if hit { $0.hits += 1 } else { $0.misses += 1 } } }
}
