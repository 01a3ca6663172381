import Bitmaps
import FunnelCore
import IndexFormat

/// A recall channel: proposes up to `quota` candidates for a request from one index structure.
///
/// Implementations are stateless values, safe to share across threads; `recall` is synchronous
/// and bounded by the quota and the structures it reads.
public protocol RecallChannel: Sendable {
  /// The channel's bit; its name travels with every candidate it recalls.
  var channel: ChannelSet { get }
  /// Adds up to `quota` candidates for `request` to `collector`.
  func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
              into collector: inout CandidateCollector)
}

/// Globally popular items (time-decayed): the fallback that makes cold users' answers sensible.
public struct PopularRecall: RecallChannel {
  public init() {}
  public var channel: ChannelSet { .popular }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    let table = generation.popularity
    for i in table.global.range.prefix(quota) { collector.add(table.doc(i), channel: .popular, score: table.score(i)) }
  }
}

/// Embedding recall: the items nearest (cosine, HNSW) to the weighted mean of the seeds' embeddings
/// (anchor items, recent history). Nothing when the generation has no vectors or there are no seeds.
public struct VectorRecall: RecallChannel {
  /// HNSW beam width at query time.
  public let ef: Int
  /// A channel searching with beam width `ef`.
  public init(ef: Int = 200) { self.ef = ef }
  public var channel: ChannelSet { .vector }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    guard let vectors = generation.vectors, !request.seeds.isEmpty, quota > 0 else { return }
    var query = [Float](repeating: 0, count: vectors.dimension)
    for seed in request.seeds { vectors.accumulate(seed.doc, weight: seed.weight, into: &query) }
    // The few seeds (at most some twenty) are scanned, not hashed, for a result whose bit (of its
    // id's low six) some seed shares; most results share none and skip the scan.
    var seeds: [DocID] = []
    var bits: UInt64 = 0
    for seed in request.seeds where !seeds.contains(seed.doc) {
      seeds.append(seed.doc)
      bits |= 1 &<< UInt64(seed.doc.rawValue & 63)
    }
    for (doc, similarity) in vectors.search(query, k: quota + seeds.count, ef: max(ef, quota)) {
      if bits & (1 &<< UInt64(doc.rawValue & 63)) != 0, seeds.contains(doc) { continue }
      collector.add(doc, channel: .vector, score: max(0, similarity))
    }
  }
}

/// What is rising now: the trending list (popularity with a short half-life), the fresh-content
/// complement of `PopularRecall` for cold users.
public struct TrendingRecall: RecallChannel {
  public init() {}
  public var channel: ChannelSet { .trending }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    for (doc, score) in generation.popularity.trending(limit: quota) { collector.add(doc, channel: .trending, score: score) }
  }
}

/// The user's own past purchases, most recent and frequent first: the replenishment channel
/// ("buy again") of scenes whose policy recalls purchases instead of dropping them.
public struct RepeatPurchaseRecall: RecallChannel {
  public init() {}
  public var channel: ChannelSet { .repeatPurchase }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    for (doc, weight) in request.purchases.prefix(quota) { collector.add(doc, channel: .repeatPurchase, score: weight) }
  }
}

/// Popular items within the categories the user likes, each category's share of the quota in
/// proportion to its affinity.
public struct CategoryRecall: RecallChannel {
  public init() {}
  public var channel: ChannelSet { .category }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    let total = request.categoryAffinity.reduce(Float(0)) { $0 + max(0, $1.weight) }
    guard total > 0 else { return }
    let table = generation.popularity
    for (category, weight) in request.categoryAffinity where weight > 0 {
      let list = table.category(category)
      let share = weight / total
      let take = max(1, Int((Float(quota) * share).rounded(.up)))
      for i in list.range.prefix(take) { collector.add(table.doc(i), channel: .category, score: share * table.score(i)) }
    }
  }
}

/// Item-to-item neighbours of the seeds (anchor items, recent history), scores summed over seeds.
public struct SimilarItemsRecall: RecallChannel {
  public init() {}
  public var channel: ChannelSet { .similar }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    Self.recall(generation.neighbours, as: .similar, request, in: generation, quota: quota, into: &collector)
  }

  /// The seeds' rows of `table` summed (each neighbour's score times its seed's weight), the seeds
  /// themselves left out, the best `quota` added as `channel` scaled so the best is 1. Shared by
  /// every item-to-item table (ItemCF, Swing, sessions). O(seeds x row length + touched + quota log quota).
  static func recall(_ table: NeighbourTable, as channel: ChannelSet, _ request: RecallRequest, in generation: IndexGeneration,
                     quota: Int, into collector: inout CandidateCollector) {
    guard !request.seeds.isEmpty, quota > 0 else { return }
    // Scores add up in a pooled dense array (no hashing per neighbour); the seeds are marked below
    // zero first so that they are never their own neighbours' candidates, and listed to be cleared.
    // Each document is listed once, when its entry first leaves zero: at most one per seed and per
    // neighbour read, and one per document. The list is made once at that size and written
    // through its buffer (no growth, no check per entry).
    var bound = request.seeds.count
    for seed in request.seeds { bound += table.row(seed.doc).count }
    let best = ScoreAccumulators.shared.withAccumulator(count: generation.items.count) { scores, touched in
      scores.withUnsafeMutableBufferPointer { acc in
        touched = [UInt32](unsafeUninitializedCapacity: min(bound, acc.count)) { list, listed in
          for seed in request.seeds where acc[seed.doc.index] == 0 {
            acc[seed.doc.index] = -1
            list[listed] = seed.doc.rawValue
            listed += 1
          }
          // The rows' ranges were validated when the table was opened: read them unchecked.
          table.neighbours.withUnsafeBufferPointer { neighbours in
            table.scores.withUnsafeBufferPointer { weights in
              for seed in request.seeds {
                for i in table.row(seed.doc) {
                  let neighbour = Int(neighbours[i])
                  let add = seed.weight * weights[i]
                  guard add > 0, acc[neighbour] >= 0 else { continue }
                  if acc[neighbour] == 0 {
                    list[listed] = UInt32(truncatingIfNeeded: neighbour)
                    listed += 1
                  }
                  acc[neighbour] += add
                }
              }
            }
          }
        }
      }
      // The best `quota` of the touched by selection over their keys (a heap's sift per offer
      // cost more than the whole selection).
      return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: touched.count) { keys in
        var n = 0
        for doc in touched {
          let score = scores[Int(doc)]
          guard score > 0 else { continue }
          keys[n] = ScoreOrder.key(score: score, doc: doc)
          n += 1
        }
        return ScoreOrder.best(quota, of: UnsafeMutableBufferPointer(rebasing: keys[..<n]))
      }
    }
    let top = best.first?.1 ?? 1
    for (doc, score) in best { collector.add(doc, channel: channel, score: score / top) }
  }
}

/// Okapi BM25 over the text index (k1 = 1.2, b = 0.75). Two exact strategies with the same answer:
/// `.exhaustive` scores term at a time into a dense accumulator (one float per document, touched
/// documents listed) and keeps the top k in a bounded heap, O(postings of the query terms);
/// `.blockMax`, the default, decodes only what may hold one of the top k (`BlockMaxScore`): on a
/// catalog's text (a few common words, many rare ones) it reads a fraction of the postings.
public struct TextRecall: RecallChannel {
  /// How the top k is found; both are exact.
  public enum Strategy: Sendable { case exhaustive, blockMax }
  public let strategy: Strategy
  /// Matches of earlier queries (nil: every query is scored).
  public let cache: TextMatchCache?

  /// A text channel using `strategy`, answering repeated queries from `cache` when given.
  public init(strategy: Strategy = .blockMax, cache: TextMatchCache? = nil) {
    self.strategy = strategy
    self.cache = cache
  }
  public var channel: ChannelSet { .text }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    let terms = request.queryTerms, index = generation.text, strategy = self.strategy, within = request.textWithin
    let compute = {
      if let within { return Self.exhaustiveTop(terms: terms, index: index, k: quota, within: within) }
      return strategy == .blockMax ? Self.top(terms: terms, index: index, k: quota)
                                       : Self.exhaustiveTop(terms: terms, index: index, k: quota)
    }
    let best = cache?.top(terms: terms, version: generation.version, variant: request.textWithinKey, k: quota, compute: compute)
      ?? compute()
    let top = best.first?.1 ?? 1
    for (doc, score) in best { collector.add(doc, channel: .text, score: score / top) }
  }

  /// The `k` best documents for `terms` by BM25, best first (ties by doc id): block-max pruning when the
  /// index has block maxima, else exhaustive.
  public static func top(terms: [String], index: TextIndex, k: Int) -> [(DocID, Float)] {
    if let pruned = BlockMaxScore.top(terms: terms, index: index, k: k) { return pruned }
    return exhaustiveTop(terms: terms, index: index, k: k)
  }

  /// The exhaustive top k (every posting of every term scored); the reference for the pruned path.
  /// With `within` (a search's matches of every word), its documents come first; when they are
  /// fewer than `k`, the best other documents follow with scores below theirs.
  public static func exhaustiveTop(terms: [String], index: TextIndex, k: Int, k1: Float = BM25.k1,
                                   b: Float = BM25.b, within: RoaringBitmap? = nil) -> [(DocID, Float)] {
    guard k > 0 else { return [] }
    return ScoreAccumulators.shared.withAccumulator(count: index.documentCount) { accumulator, touched in
      accumulate(terms: terms, index: index, k1: k1, b: b, into: &accumulator, touched: &touched)
      var heap = TopK(capacity: k)
      if let within {
        // The match set is usually far smaller than the docs any term touched: walk it, not them
        // (a doc of `within` that no term touched scores 0 and is still a match).
        within.forEach { doc in
          if Int(doc) < accumulator.count { heap.offer(DocID(rawValue: doc), accumulator[Int(doc)]) }
        }
        let full = heap.sortedDescending()
        guard full.count < k else { return full }
        // Fewer matches of every word than the quota: the best partial matches follow, scaled below
        // the last full match (their order kept), as engines that drop words when results are few do.
        var partial = TopK(capacity: k - full.count)
        for doc in touched where !within.contains(doc) { partial.offer(DocID(rawValue: doc), accumulator[Int(doc)]) }
        let rest = partial.sortedDescending()
        guard let floor = full.last?.1, let best = rest.first?.1, best > 0 else { return full + rest }
        let scale = partialShare * floor / best
        return full + rest.map { ($0.0, $0.1 * scale) }
      }
      for doc in touched { heap.offer(DocID(rawValue: doc), accumulator[Int(doc)]) }
      return heap.sortedDescending()
    }
  }

  /// The best partial match's score as a share of the last full match's.
  static let partialShare: Float = 0.5

  /// BM25 score of every document matching at least one of `terms` (for tests and tools).
  public static func scores(terms: [String], index: TextIndex, k1: Float = BM25.k1, b: Float = BM25.b) -> [DocID: Float] {
    ScoreAccumulators.shared.withAccumulator(count: index.documentCount) { accumulator, touched in
      accumulate(terms: terms, index: index, k1: k1, b: b, into: &accumulator, touched: &touched)
      return Dictionary(uniqueKeysWithValues: touched.map { (DocID(rawValue: $0), accumulator[Int($0)]) })
    }
  }

  private static func accumulate(terms: [String], index: TextIndex, k1: Float, b: Float,
                                 into accumulator: inout [Float], touched: inout [UInt32]) {
    let n = Float(index.documentCount)
    let average = index.averageLength
    let lengths = index.documentLengths
    accumulator.withUnsafeMutableBufferPointer { acc in
      for term in Set(terms) {
        guard let id = index.termID(term) else { continue }
        let idf = BM25.idf(documents: Int(n), frequency: index.documentFrequency(id))
        lengths.withUnsafeBufferPointer { lengths in
          index.forEachPosting(id) { doc, frequency in
            if acc[doc.index] == 0 { touched.append(doc.rawValue) }
            if k1 == BM25.k1 && b == BM25.b {
              acc[doc.index] += BM25.score(idf: idf, frequency: frequency, length: lengths[doc.index], average: average)
            } else {
              let tf = Float(frequency)
              acc[doc.index] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Float(lengths[doc.index]) / average))
            }
          }
        }
      }
    }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
