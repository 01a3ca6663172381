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
    /// By document of `generation` (ids are named only for the items read).
    var entries: [DocID: Entry] = [:]
    var generation = ""
    /// By item id, for callers without documents.
    var byID: [ItemID: Entry] = [:]
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

  /// The activity of each of `docs` (of the generation named `generation`), in order: fresh
  /// entries from memory, the rest in one read naming only them. A new generation starts empty
  /// (its documents number items anew).
  public func itemActivity(of docs: [DocID], generation: String, id: (DocID) -> ItemID) async throws -> [ItemActivity?] {
    try await cached(docs, in: \.entries, generation: generation) { id(docs[$0]) }
  }

  /// The activity of each of `items`, in order (for callers without documents; kept apart from
  /// the by-document entries).
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    try await cached(items, in: \.byID, generation: nil) { items[$0] }
  }

  /// Fresh entries of `keys` from `table`, the others read in one call (`name(i)`: the item id of
  /// `keys[i]`) and stored. With a `generation`, `table` belongs to it and is emptied on a change.
  private func cached<Key: Hashable>(_ keys: [Key], in table: WritableKeyPath<State, [Key: Entry]>, generation: String?,
                                     name: (Int) -> ItemID) async throws -> [ItemActivity?] {
    let startMs = now()
    var result = [ItemActivity?](repeating: nil, count: keys.count)
    let missing: [Int] = state.withLock { s in
      if let generation, s.generation != generation { (s.generation, s.entries) = (generation, [:]) }
      var missing: [Int] = []
      for (i, key) in keys.enumerated() {
        if let entry = s[keyPath: table][key], startMs - entry.readMs < maxAgeMs { result[i] = entry.activity } else { missing.append(i) }
      }
      s.hits += keys.count - missing.count
      s.misses += missing.count
      return missing
    }
    guard !missing.isEmpty else { return result }
    let ids = missing.map(name)
    let read = try await source.itemActivity(ids)
    guard read.count == ids.count else {
      throw FunnelError(.internal, "item activity: \(read.count) answers for \(ids.count) items")
    }
    for (i, activity) in zip(missing, read) { result[i] = activity }
    state.withLock { s in
      if let generation, s.generation != generation { return }  // a newer generation came meanwhile
      Self.makeRoom(&s[keyPath: table], adding: missing.count, capacity: capacity, nowMs: startMs, maxAgeMs: maxAgeMs)
      // Stamped with the time the read started: an entry never claims to be fresher than it is.
      for (i, activity) in zip(missing, read) { s[keyPath: table][keys[i]] = Entry(activity: activity, readMs: startMs) }
    }
    return result
  }

  /// When `adding` more would pass `capacity`: drops the expired entries, and all if that is not enough.
  private static func makeRoom<Key>(_ entries: inout [Key: Entry], adding: Int, capacity: Int, nowMs: Int64, maxAgeMs: Int64) {
    guard entries.count + adding > capacity else { return }
    entries = entries.filter { nowMs - $0.value.readMs < maxAgeMs }
    if entries.count + adding > capacity { entries.removeAll(keepingCapacity: true) }
  }
}
