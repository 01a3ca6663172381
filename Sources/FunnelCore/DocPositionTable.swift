/// A map from document to a small index (a candidate's position), by open addressing with linear
/// probing and a multiplicative hash of the 32-bit id: recall adds ~1,000-1,500 candidates per
/// request and looks each up, and Swift's `Dictionary` spends most of that time in SipHash (the
/// counter cache and the ranker's profile lookups use it for the same reason).
/// Expected O(1) per operation; the table doubles at half full. A value type: not shared, no lock.
public struct DocPositionTable: Sendable {
  /// Document ids plus one (0 = an empty slot), then positions, in the same slots.
  @usableFromInline var keys: [UInt32]
  @usableFromInline var values: [Int32]
  @usableFromInline var mask: Int
  @usableFromInline var shift: UInt32
  /// Entries stored.
  public private(set) var count = 0

  /// A table for about `capacity` entries before it first grows.
  public init(capacity: Int = 1_024) {
    var size = 16
    while size < capacity * 2 { size <<= 1 }
    keys = [UInt32](repeating: 0, count: size)
    values = [Int32](repeating: 0, count: size)
    mask = size - 1
    shift = UInt32(32 - size.trailingZeroBitCount)
  }

  /// The position stored for `doc`, if any.
  @inlinable public func position(of doc: DocID) -> Int? {
    let key = doc.rawValue &+ 1
    var slot = home(key)
    while true {
      let found = keys[slot]
      if found == key { return Int(values[slot]) }
      if found == 0 { return nil }
      slot = (slot + 1) & mask
    }
  }

  /// Stores `position` for `doc` (which must not be in the table yet).
  public mutating func insert(_ doc: DocID, position: Int) {
    let existing = positionOrInsert(doc, position: position)
    precondition(existing == nil, "document \(doc.rawValue) is in the table already")
  }

  /// The position stored for `doc` if it has one; otherwise stores `position` for it and returns
  /// nil. One probe sequence where `position(of:)` then `insert` take two.
  public mutating func positionOrInsert(_ doc: DocID, position: Int) -> Int? {
    if (count + 1) * 2 > keys.count { grow() }
    let key = doc.rawValue &+ 1
    var slot = home(key)
    return keys.withUnsafeMutableBufferPointer { keys in
      while true {
        let found = keys[slot]
        if found == key { return Int(values[slot]) }
        if found == 0 { break }
        slot = (slot + 1) & mask
      }
      keys[slot] = key
      values[slot] = Int32(truncatingIfNeeded: position)
      count += 1
      return nil
    }
  }

  @usableFromInline @inline(__always) func home(_ key: UInt32) -> Int { Int((key &* 0x9E37_79B1) >> shift) & mask }

  private mutating func grow() {
    let (oldKeys, oldValues) = (keys, values)
    let size = keys.count * 2
    keys = [UInt32](repeating: 0, count: size)
    values = [Int32](repeating: 0, count: size)
    mask = size - 1
    shift = UInt32(32 - size.trailingZeroBitCount)
    count = 0
    for (key, value) in zip(oldKeys, oldValues) where key != 0 {
      insert(DocID(rawValue: key &- 1), position: Int(value))
    }
  }
}
