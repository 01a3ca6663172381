import FunnelCore
import Synchronization

/// Real-time item counts in front of a remote `ItemActivitySource` (Redis), each kept for at most
/// `maxAgeMs`: the candidates of concurrent requests overlap heavily (the popular and trending
/// channels offer the same items to everyone), so one read of an item serves every request in the
/// next `maxAgeMs` and only the items missing or older are read, in one batch. The counts are
/// decayed windows over hours; `maxAgeMs` (a few hundred ms) bounds how much later an event shows in
/// them, on top of the updater's own delay.
///
/// Thread-safe. At most `capacity` items are kept; when full, the expired ones are dropped, and if
/// that is not enough, all of them. A failed read is passed to the caller and caches nothing.
public final class ItemActivityCache: ItemActivitySource {
  private struct Entry {
    var activity: ItemActivity?
    var readMs: Int64
  }
  private struct State {
    var entries: [ItemID: Entry] = [:]
    var hits = 0, misses = 0
  }

  private let source: any ItemActivitySource
  private let maxAgeMs: Int64
  private let capacity: Int
  private let now: @Sendable () -> Int64
  private let state = Mutex(State())

  /// A cache over `source` whose entries live `maxAgeMs` (monotonic ms from `now`).
  public init(_ source: any ItemActivitySource, maxAgeMs: Int64, capacity: Int = 200_000,
              now: @escaping @Sendable () -> Int64 = ItemActivityCache.monotonicMs) {
    self.source = source
    self.maxAgeMs = maxAgeMs
    self.capacity = max(1, capacity)
    self.now = now
  }

  /// Milliseconds of a monotonic clock (ages only; immune to wall-clock steps).
  @Sendable public static func monotonicMs() -> Int64 {
    let t = ContinuousClock.now.duration(to: epoch).components
    return -(t.seconds * 1_000 + t.attoseconds / 1_000_000_000_000_000)
  }
  private static let epoch = ContinuousClock.now

  /// Items served from the cache and read from the source, since start.
  public var counts: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

  /// The activity of each of `items`, in order: fresh entries from memory, the rest in one read.
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    let startMs = now()
    var result = [ItemActivity?](repeating: nil, count: items.count)
    var missing: [Int] = []
    state.withLock { s in
      for (i, item) in items.enumerated() {
        if let entry = s.entries[item], startMs - entry.readMs < maxAgeMs {
          result[i] = entry.activity
        } else {
          missing.append(i)
        }
      }
      s.hits += items.count - missing.count
      s.misses += missing.count
    }
    guard !missing.isEmpty else { return result }
    let read = try await source.itemActivity(missing.map { items[$0] })
    guard read.count == missing.count else {
      throw FunnelError(.internal, "item activity: \(read.count) answers for \(missing.count) items")
    }
    for (i, activity) in zip(missing, read) { result[i] = activity }
    state.withLock { s in
      if s.entries.count + missing.count > capacity {
        s.entries = s.entries.filter { startMs - $0.value.readMs < maxAgeMs }
        if s.entries.count + missing.count > capacity { s.entries.removeAll(keepingCapacity: true) }
      }
      // Stamped with the time the read started: an entry never claims to be fresher than it is.
      for (i, activity) in zip(missing, read) { s.entries[items[i]] = Entry(activity: activity, readMs: startMs) }
    }
    return result
  }
}
