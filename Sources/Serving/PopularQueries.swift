import Synchronization
import TextAnalysis

/// The searches shoppers make that find something, most frequent first, for autocomplete: a
/// Space-Saving summary of at most `capacity` queries (folded words joined by a space), so memory
/// stays bounded however many distinct queries arrive. A query needs `minimumCount` searches before
/// it is suggested, so one client's odd query is not shown to everyone. Per replica: each sees its
/// share of the traffic, which carries the same head of queries. Thread-safe; one per engine.
public final class PopularQueries: Sendable {
  private let capacity: Int
  private let counts = Mutex<[String: Int]>([:])
  /// Searches a query needs before it is suggested.
  public let minimumCount: Int

  /// A summary of at most `capacity` (>= 1) queries.
  public init(capacity: Int = 2_000, minimumCount: Int = 3) {
    self.capacity = max(1, capacity)
    self.minimumCount = minimumCount
  }

  /// The summary's key for `query`: its tokens folded, joined by a space, at most 100 bytes.
  public static func key(_ query: String) -> String {
    var key = ""
    for token in Tokenizer.tokens(query) where key.utf8.count + token.utf8.count < 100 {
      key += key.isEmpty ? token : " " + token
    }
    return key
  }

  /// Records a search for `query` that found something.
  public func record(_ query: String) {
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

  /// Queries beginning with `prefix` searched at least `minimumCount` times, with their counts.
  /// O(capacity).
  public func completions(of prefix: String) -> [(query: String, count: Int)] {
    counts.withLock { counts in
      counts.compactMap { $0.value >= minimumCount && $0.key.hasPrefix(prefix) ? ($0.key, $0.value) : nil }
    }
  }
}
