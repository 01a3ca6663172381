import Synchronization
import TextAnalysis

/// The searches that matched nothing, most frequent first, for the dashboard: what shoppers look
/// for that the catalog (or its synonyms) lacks. A Space-Saving summary of at most `capacity`
/// queries (folded, words joined by a space): a query seen more often than any it displaced is
/// always listed, with its count over-estimated by at most the smallest count when it came in.
/// Memory O(capacity); O(capacity) per record when full. Thread-safe; one per engine.
public final class ZeroResultQueries: Sendable {
  /// A query and how often it matched nothing.
  public struct Entry: Hashable, Sendable {
    public var query: String
    public var count: Int
  }

  private let capacity: Int
  private let counts = Mutex<[String: Int]>([:])
  /// Told of every search that matched nothing (a metric).
  private let counted: @Sendable () -> Void

  /// A summary of at most `capacity` (>= 1) queries.
  public init(capacity: Int = 500, counted: @escaping @Sendable () -> Void = {}) {
    self.capacity = max(1, capacity)
    self.counted = counted
  }

  /// Records a search for `query` that matched nothing.
  public func record(_ query: String) {
    counted()
    let key = Tokenizer.tokens(query).joined(separator: " ").prefix(200)
    guard !key.isEmpty else { return }
    counts.withLock { counts in
      if counts[String(key)] != nil {
        counts[String(key)]! += 1
      } else if counts.count < capacity {
        counts[String(key)] = 1
      } else if let smallest = counts.min(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }) {
        counts.removeValue(forKey: smallest.key)
        counts[String(key)] = smallest.value + 1
      }
    }
  }

  /// The `limit` most frequent, ties by query.
  public func top(_ limit: Int) -> [Entry] {
    counts.withLock { $0 }.map { Entry(query: $0.key, count: $0.value) }
      .sorted { $0.count != $1.count ? $0.count > $1.count : $0.query < $1.query }
      .prefix(limit).map { $0 }
  }
}
