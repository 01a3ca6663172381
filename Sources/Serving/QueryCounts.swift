import Synchronization
import TextAnalysis

/// How often search queries were made, for the dashboard's searches without results and for
/// autocomplete's popular queries: a Space-Saving summary of at most `capacity` queries (folded
/// words joined by a space, under 100 bytes), so memory stays bounded however many distinct queries
/// arrive. A query searched more often than any it displaced is always kept, its count
/// over-estimated by at most the smallest count when it came in. Per replica. Memory O(capacity);
/// O(capacity) per record when full. Thread-safe.
public final class QueryCounts: Sendable {
  /// A query and how often it was recorded.
  public struct Entry: Hashable, Sendable {
    public var query: String
    public var count: Int
  }

  private let capacity: Int
  private let counts = Mutex<[String: Int]>([:])
  /// Told of every record (a metric).
  private let counted: @Sendable () -> Void

  /// A summary of at most `capacity` (>= 1) queries, telling `counted` of each record.
  public init(capacity: Int, counted: @escaping @Sendable () -> Void = {}) {
    self.capacity = max(1, capacity)
    self.counted = counted
  }

  /// The summary's key for `query`: its tokens folded, joined by a space, under 100 bytes.
  public static func key(_ query: String) -> String {
    var key = ""
    for token in Tokenizer.tokens(query) where key.utf8.count + token.utf8.count < 100 {
      key += key.isEmpty ? token : " " + token
    }
    return key
  }

  /// Records one search for `query`.
  public func record(_ query: String) {
    counted()
    let key = Self.key(query)
    guard !key.isEmpty else { return }
    counts.withLock { counts in
      if counts[key] != nil {
        counts[key]! += 1
      } else if counts.count < capacity {
        counts[key] = 1
      } else if let smallest = counts.min(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }) {
        // Space-Saving: the newcomer takes the smallest entry's place and count (an upper bound).
        counts.removeValue(forKey: smallest.key)
        counts[key] = smallest.value + 1
      }
    }
  }

  /// The `limit` most frequent, ties by query.
  public func top(_ limit: Int) -> [Entry] {
    counts.withLock { $0 }.map { Entry(query: $0.key, count: $0.value) }
      .sorted { $0.count != $1.count ? $0.count > $1.count : $0.query < $1.query }
      .prefix(limit).map { $0 }
  }

  /// Queries beginning with `prefix` recorded at least `minimumCount` times. O(capacity).
  public func completions(of prefix: String, minimumCount: Int) -> [Entry] {
    counts.withLock { counts in
      counts.compactMap { $0.value >= minimumCount && $0.key.hasPrefix(prefix) ? Entry(query: $0.key, count: $0.value) : nil }
    }
  }
}
