import FunnelCore

/// The text channel's ranked matches by query, for the generation that computed them. Shop search
/// traffic repeats a head of queries, and exhaustive BM25 over a large catalog reads every posting
/// of every query term (a large part of a search's CPU on a large catalog); the matches do not
/// depend on the user, the filter or the model, so a hit is exactly what a miss would compute.
///
/// Keys are the generation's version, k and the query's distinct terms sorted (BM25 sums per term,
/// so order and repeats do not change the matches): a new generation never sees an old entry, and
/// old entries age out of the LRU. Memory: at most `capacity` lists of k (doc, score) pairs, 8 bytes
/// each (8 KB per query at the search quota of 1,000). Two concurrent misses of one query both
/// compute it. Thread-safe.
public final class TextMatchCache: Sendable {
  private let lru: LRUCache<[(DocID, Float)]>
  /// Told of every lookup: true when the cache answered it, false when it was computed.
  private let counted: @Sendable (_ hit: Bool) -> Void

  /// A cache of at most `capacity` (>= 1) queries, telling `counted` of each lookup (a metric).
  public init(capacity: Int, counted: @escaping @Sendable (_ hit: Bool) -> Void = { _ in }) {
    self.lru = LRUCache(capacity: capacity)
    self.counted = counted
  }

  /// The best `k` matches of `terms` in generation `version` within the match set `variant` names
  /// (empty: all documents; `RecallRequest.textWithinKey`): cached, or computed by `compute` (which
  /// must depend on nothing else) and kept. O(terms log terms) for the key plus a lock.
  public func top(terms: [String], version: String, variant: String = "", k: Int,
                  compute: () -> [(DocID, Float)]) -> [(DocID, Float)] {
    let key = Self.key(terms: terms, version: version, variant: variant, k: k)
    if let hit = lru.get(key) {
      counted(true)
      return hit
    }
    counted(false)
    let computed = compute()
    lru.put(key, computed)
    return computed
  }

  /// Queries cached.
  public var count: Int { lru.count }

  static func key(terms: [String], version: String, variant: String = "", k: Int) -> String {
    // Unit separators cannot occur in tokens (the tokenizer keeps letters and digits only).
    ([version, variant, String(k)] + Set(terms).sorted()).joined(separator: "\u{1F}")
  }
}
