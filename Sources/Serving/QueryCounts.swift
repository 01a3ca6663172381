import Synchronization
import TextAnalysis

/// How often search queries were made, for the dashboard's searches without results and for
/// autocomplete's popular queries: a Space-Saving summary of at most `capacity` queries (folded
/// words joined by a space, under 100 bytes), so memory stays bounded however many distinct queries
/// arrive. When full, the least frequent tenth is evicted at once (one sort every `capacity / 10`
/// new queries, so a record costs O(log capacity) amortised under the lock, not a scan), and a
/// newcomer starts at the highest evicted count plus one: an upper bound on its true count, whose
/// over-estimate (`error`) is kept so that `completions` can ask for a guaranteed count. A query
/// searched more often than any evicted one is always kept. Per replica. Thread-safe.
public final class QueryCounts: Sendable {
  /// A query and how often it was recorded (an upper bound; at least `count - error`).
  public struct Entry: Hashable, Sendable {
    public var query: String
    public var count: Int
    /// How much `count` may over-estimate (the floor when the query came in).
    public var error = 0
  }

  private struct State {
    var entries: [String: (count: Int, error: Int)] = [:]
    /// The highest count evicted so far.
    var floor = 0
  }

  private let capacity: Int
  private let state = Mutex(State())
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
    let capacity = self.capacity
    state.withLock { state in
      if let known = state.entries[key] {
        state.entries[key] = (known.count + 1, known.error)
        return
      }
      if state.entries.count >= capacity {
        let evicted = state.entries.sorted { $0.value.count != $1.value.count ? $0.value.count < $1.value.count : $0.key < $1.key }
          .prefix(max(1, capacity / 10))
        for (query, _) in evicted { state.entries.removeValue(forKey: query) }
        state.floor = max(state.floor, evicted.last?.value.count ?? 0)
      }
      state.entries[key] = (state.floor + 1, state.floor)
    }
  }

  /// The `limit` most frequent, ties by query.
  public func top(_ limit: Int) -> [Entry] {
    state.withLock { $0.entries }.map { Entry(query: $0.key, count: $0.value.count, error: $0.value.error) }
      .sorted { $0.count != $1.count ? $0.count > $1.count : $0.query < $1.query }
      .prefix(limit).map { $0 }
  }

  /// Queries beginning with `prefix` recorded at least `minimumCount` times for certain (count less
  /// error). O(capacity).
  public func completions(of prefix: String, minimumCount: Int) -> [Entry] {
    state.withLock { state in
      state.entries.compactMap { query, value in
        value.count - value.error >= minimumCount && query.hasPrefix(prefix)
          ? Entry(query: query, count: value.count, error: value.error) : nil
      }
    }
  }
}
