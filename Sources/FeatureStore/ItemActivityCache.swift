import FunnelCore
import Synchronization

/// Real-time item counts in front of a remote `ItemActivitySource` (Redis), each kept for at most
/// `maxAgeMs`: the candidates of concurrent requests overlap heavily (the popular and trending
/// channels offer the same items to everyone), so one read of an item serves every request in the
/// next `maxAgeMs` and only the items missing or older are read, in one batch. The counts are
/// decayed windows over hours; `maxAgeMs` (a few hundred ms) bounds how much later an event shows in
/// them, on top of the updater's own delay.
///
/// Entries live in two tables: new ones go to the current table, which becomes the previous one
/// every `maxAgeMs` (or when it holds `capacity` items), and the previous one is dropped: expiry
/// costs O(1) under the lock, never a sweep of every entry (a sweep of 200,000 entries held the
/// lock for milliseconds). A lookup takes the current entry, else the previous one, if fresh.
///
/// Thread-safe. At most 2 x `capacity` items are kept. A failed read is passed to the caller and
/// caches nothing.
public final class ItemActivityCache: ItemActivitySource {
  private struct Entry: Sendable {
    var activity: ItemActivity?
    var readMs: Int64
  }
  /// The entries of one key kind in two generations (see the type's comment).
  private struct Table<Key: Hashable & Sendable>: Sendable {
    var current: [Key: Entry] = [:]
    var previous: [Key: Entry] = [:]
    /// When the current table started (nil: never used).
    var rotatedMs: Int64?

    /// The fresh entry of `key` at `nowMs`, if any.
    func fresh(_ key: Key, nowMs: Int64, maxAgeMs: Int64) -> Entry? {
      if let entry = current[key] ?? previous[key], nowMs - entry.readMs < maxAgeMs { return entry }
      return nil
    }

    /// Rotates when the current table is `maxAgeMs` old or full; returns the dropped table, for the
    /// caller to free after unlocking.
    mutating func rotate(nowMs: Int64, maxAgeMs: Int64, capacity: Int) -> [Key: Entry] {
      guard let started = rotatedMs else {
        rotatedMs = nowMs
        return [:]
      }
      guard nowMs - started >= maxAgeMs || current.count >= capacity else { return [:] }
      let dropped = previous
      // The new table starts at the size the last one reached: growing it by doubling would rehash
      // every entry so far under the lock at each doubling (a millisecond at tens of thousands).
      let reserved = [Key: Entry](minimumCapacity: min(current.count, capacity))
      (previous, current, rotatedMs) = (current, reserved, nowMs)
      return dropped
    }
  }
  private struct State: Sendable {
    /// By document of `generation` (ids are named only for the items read).
    var byDoc = Table<DocID>()
    var generation = ""
    /// By item id, for callers without documents.
    var byID = Table<ItemID>()
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
    try await cached(docs, in: \.byDoc, generation: generation) { id(docs[$0]) }
  }

  /// The activity of each of `items`, in order (for callers without documents; kept apart from
  /// the by-document entries).
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    try await cached(items, in: \.byID, generation: nil) { items[$0] }
  }

  /// Fresh entries of `keys` from `table`, the others read in one call (`name(i)`: the item id of
  /// `keys[i]`) and stored. With a `generation`, `table` belongs to it and is emptied on a change.
  private func cached<Key: Hashable & Sendable>(_ keys: [Key], in table: WritableKeyPath<State, Table<Key>>, generation: String?,
                                     name: (Int) -> ItemID) async throws -> [ItemActivity?] {
    let startMs = now()
    var result = [ItemActivity?](repeating: nil, count: keys.count)
    // The table a rotation drops is returned and freed after the lock is released.
    let (missing, _) = state.withLock { s -> ([Int], [Key: Entry]) in
      if let generation, s.generation != generation { (s.generation, s.byDoc) = (generation, Table()) }
      let dropped = s[keyPath: table].rotate(nowMs: startMs, maxAgeMs: maxAgeMs, capacity: capacity)
      var missing: [Int] = []
      for (i, key) in keys.enumerated() {
        if let entry = s[keyPath: table].fresh(key, nowMs: startMs, maxAgeMs: maxAgeMs) {
          result[i] = entry.activity
        } else {
          missing.append(i)
        }
      }
      s.hits += keys.count - missing.count
      s.misses += missing.count
      return (missing, dropped)
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
      // Stamped with the time the read started: an entry never claims to be fresher than it is.
      for (i, activity) in zip(missing, read) {
        s[keyPath: table].current[keys[i]] = Entry(activity: activity, readMs: startMs)
      }
    }
    return result
  }
}
