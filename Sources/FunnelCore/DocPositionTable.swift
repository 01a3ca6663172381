/// A map from document to a small index (a candidate's position), by open addressing with linear
/// probing and a multiplicative hash of the 32-bit id: recall adds ~1,000-1,500 candidates per
/// request and looks each up, and Swift's `Dictionary` spends most of that time in SipHash (the
/// counter cache and the ranker's profile lookups use it for the same reason).
/// Document ids must be below 2^32 - 1 (that one marks an empty slot); any other 32-bit key below
/// it works the same (the re-ranker counts per category key with it). Expected O(1) per
/// operation; the table doubles at half full. A value type: not shared, no lock.
public struct DocPositionTable: Sendable {
  /// One word per slot: the document id plus one in the low half (0 = an empty slot), its position
  /// in the high half. One array, so a probe reads one word and an insert writes one, behind a
  /// single uniqueness check.
  @usableFromInline var slots: [UInt64]
  @usableFromInline var mask: Int
  @usableFromInline var shift: UInt32
  @usableFromInline var stored = 0
  /// Entries stored.
  public var count: Int { stored }

  /// A table for about `capacity` entries before it first grows.
  public init(capacity: Int = 1_024) {
    var size = 16
    while size < capacity * 2 { size <<= 1 }
    slots = [UInt64](repeating: 0, count: size)
    mask = size - 1
    shift = UInt32(32 - size.trailingZeroBitCount)
  }

  /// The position stored for `doc`, if any.
  @inlinable public func position(of doc: DocID) -> Int? {
    let key = doc.rawValue &+ 1
    let mask = self.mask
    var slot = home(key)
    return slots.withUnsafeBufferPointer { s in
      while true {
        let entry = s[slot]
        let found = UInt32(truncatingIfNeeded: entry)
        if found == key { return Int(entry >> 32) }
        if found == 0 { return nil }
        slot = (slot + 1) & mask
      }
    }
  }

  /// Stores `position` for `doc` (which must not be in the table yet).
  public mutating func insert(_ doc: DocID, position: Int) {
    let existing = positionOrInsert(doc, position: position)
    precondition(existing == nil, "document \(doc.rawValue) is in the table already")
  }

  /// The position stored for `doc` if it has one; otherwise stores `position` (0 ..< 2^32) for it
  /// and returns nil. One probe sequence where `position(of:)` then `insert` take two.
  @inlinable @inline(__always)
  public mutating func positionOrInsert(_ doc: DocID, position: Int) -> Int? {
    if (stored + 1) * 2 > slots.count { grow() }
    let key = doc.rawValue &+ 1
    let mask = self.mask
    let start = home(key)
    let entry = UInt64(UInt32(truncatingIfNeeded: position)) << 32 | UInt64(key)
    let found: Int? = slots.withUnsafeMutableBufferPointer { s in
      var slot = start
      while true {
        let stored = s[slot]
        let k = UInt32(truncatingIfNeeded: stored)
        if k == key { return Int(stored >> 32) }
        if k == 0 {
          s[slot] = entry
          return nil
        }
        slot = (slot + 1) & mask
      }
    }
    if found == nil { stored += 1 }
    return found
  }

  @usableFromInline @inline(__always) func home(_ key: UInt32) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B1) &>> shift) & mask
  }

  @usableFromInline mutating func grow() {
    let old = slots
    let size = slots.count * 2
    slots = [UInt64](repeating: 0, count: size)
    mask = size - 1
    shift = UInt32(32 - size.trailingZeroBitCount)
    stored = 0
    for entry in old where UInt32(truncatingIfNeeded: entry) != 0 {
      insert(DocID(rawValue: UInt32(truncatingIfNeeded: entry) &- 1), position: Int(entry >> 32))
    }
  }
}
