import Bitmaps
import Synchronization

/// The filter sub-query cache's in-process level.
public typealias LRUBitmapCache = LRUCache<RoaringBitmap>

/// A thread-safe least-recently-used cache of values by string key. O(1) get and put (a dictionary
/// plus an intrusive doubly linked list over array slots), one lock per call.
public final class LRUCache<Value: Sendable>: Sendable {
  private struct Entry {
    var key: String
    var value: Value
    var previous: Int
    var next: Int
  }
  private struct State {
    var slots: [Entry] = []
    var index: [String: Int] = [:]
    var head = -1  // most recent
    var tail = -1  // least recent
  }
  private let state = Mutex(State())
  /// Most values kept.
  public let capacity: Int

  /// A cache of at most `capacity` (>= 1) values.
  public init(capacity: Int) {
    precondition(capacity >= 1, "an LRU needs room for one entry")
    self.capacity = capacity
  }

  /// The value for `key`, marking it most recently used.
  public func get(_ key: String) -> Value? {
    state.withLock { s in
      guard let i = s.index[key] else { return nil }
      Self.moveToFront(i, &s)
      return s.slots[i].value
    }
  }

  /// Stores `value`, evicting the least recently used entry when full.
  public func put(_ key: String, _ value: Value) {
    state.withLock { s in
      if let i = s.index[key] {
        s.slots[i].value = value
        Self.moveToFront(i, &s)
        return
      }
      let i: Int
      if s.slots.count < capacity {
        s.slots.append(Entry(key: key, value: value, previous: -1, next: -1))
        i = s.slots.count - 1
      } else {
        i = s.tail
        Self.unlink(i, &s)
        s.index[s.slots[i].key] = nil
        s.slots[i] = Entry(key: key, value: value, previous: -1, next: -1)
      }
      s.index[key] = i
      Self.pushFront(i, &s)
    }
  }

  /// Number of cached values.
  public var count: Int { state.withLock { $0.index.count } }

  private static func unlink(_ i: Int, _ s: inout State) {
    let (p, n) = (s.slots[i].previous, s.slots[i].next)
    if p >= 0 { s.slots[p].next = n } else { s.head = n }
    if n >= 0 { s.slots[n].previous = p } else { s.tail = p }
  }

  private static func pushFront(_ i: Int, _ s: inout State) {
    s.slots[i].previous = -1
    s.slots[i].next = s.head
    if s.head >= 0 { s.slots[s.head].previous = i }
    s.head = i
    if s.tail < 0 { s.tail = i }
  }

  private static func moveToFront(_ i: Int, _ s: inout State) {
    guard s.head != i else { return }
    unlink(i, &s)
    pushFront(i, &s)
  }
}
