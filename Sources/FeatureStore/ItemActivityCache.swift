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
/// Entries are keyed by document of the serving index generation (the request path has documents,
/// and only the items read are named, through the source's by-document path); reads by item id pass
/// straight through.
///
/// Thread-safe. At most 2 x `capacity` items are kept. A failed read is passed to the caller and
/// caches nothing.
public final class ItemActivityCache: ItemActivitySource {
  private struct Entry: Sendable {
    var activity: ItemActivity?
    var readMs: Int64
  }
  /// Entries by document: positions in an open-addressing table (no SipHash per lookup; a request
  /// looks up hundreds of candidates under the lock), entries in an array.
  private struct EntryTable: Sendable {
    var positions: DocPositionTable
    var entries: [Entry] = []

    init(capacity: Int) {
      positions = DocPositionTable(capacity: max(16, capacity))
      entries.reserveCapacity(capacity)
    }

    var count: Int { entries.count }

    func entry(_ doc: DocID) -> Entry? { positions.position(of: doc).map { entries[$0] } }

    mutating func set(_ doc: DocID, _ entry: Entry) {
      if let position = positions.position(of: doc) {
        entries[position] = entry
      } else {
        positions.insert(doc, position: entries.count)
        entries.append(entry)
      }
    }
  }
  private struct State: Sendable {
    var current = EntryTable(capacity: 16)
    var previous = EntryTable(capacity: 16)
    /// When the current table started (nil: never used).
    var rotatedMs: Int64?
    /// The index generation the documents belong to.
    var generation = ""
    var hits = 0, misses = 0

    /// The fresh entry of `doc` at `nowMs`, if any.
    func fresh(_ doc: DocID, nowMs: Int64, maxAgeMs: Int64) -> Entry? {
      if let entry = current.entry(doc) ?? previous.entry(doc), nowMs - entry.readMs < maxAgeMs { return entry }
      return nil
    }

    /// Rotates when the current table is `maxAgeMs` old or full; returns the dropped table, for the
    /// caller to free after unlocking.
    mutating func rotate(nowMs: Int64, maxAgeMs: Int64, capacity: Int) -> EntryTable? {
      guard let started = rotatedMs else {
        rotatedMs = nowMs
        return nil
      }
      guard nowMs - started >= maxAgeMs || current.count >= capacity else { return nil }
      let dropped = previous
      // The new table starts at the size the last one reached: growing it by doubling would rehash
      // every entry so far under the lock at each doubling (a millisecond at tens of thousands).
      let reserved = EntryTable(capacity: min(current.count, capacity))
      (previous, current, rotatedMs) = (current, reserved, nowMs)
      return dropped
    }
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

  /// The activity of each of `items`, in order, read from the source (callers without documents
  /// are not on the request path; nothing is cached for them).
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    try await source.itemActivity(items)
  }

  /// The activity of each of `docs` (of the generation named `generation`), in order: fresh
  /// entries from memory, the rest in one read of the source's by-document path naming only them
  /// (`appendID`). A new generation starts empty (its documents number items anew).
  public func itemActivity(of docs: [DocID], generation: String,
                           appendID: (DocID, inout [UInt8]) -> Void) async throws -> [ItemActivity?] {
    let startMs = now()
    var result = [ItemActivity?](repeating: nil, count: docs.count)
    // The table a rotation drops is returned and freed after the lock is released.
    let (missing, _) = state.withLock { s -> ([Int], EntryTable?) in
      if s.generation != generation { s = State(generation: generation, hits: s.hits, misses: s.misses) }
      let dropped = s.rotate(nowMs: startMs, maxAgeMs: maxAgeMs, capacity: capacity)
      var missing: [Int] = []
      for (i, doc) in docs.enumerated() {
        if let entry = s.fresh(doc, nowMs: startMs, maxAgeMs: maxAgeMs) {
          result[i] = entry.activity
        } else {
          missing.append(i)
        }
      }
      s.hits += docs.count - missing.count
      s.misses += missing.count
      return (missing, dropped)
    }
    guard !missing.isEmpty else { return result }
    let read = try await source.itemActivity(of: missing.map { docs[$0] }, generation: generation, appendID: appendID)
    guard read.count == missing.count else {
      throw FunnelError(.internal, "item activity: \(read.count) answers for \(missing.count) items")
    }
    for (i, activity) in zip(missing, read) { result[i] = activity }
    state.withLock { s in
      guard s.generation == generation else { return }  // a newer generation came meanwhile
      // Stamped with the time the read started: an entry never claims to be fresher than it is.
      for (i, activity) in zip(missing, read) { s.current.set(docs[i], Entry(activity: activity, readMs: startMs)) }
    }
    return result
  }
}
