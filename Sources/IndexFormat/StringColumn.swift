import FunnelCore
import MappedStorage

/// Strings stored as an offsets section (`UInt64`, count + 1) and a UTF-8 bytes section. When
/// written sorted (`sorted: true`), `find` is a binary search without building Swift strings.
public struct StringColumn: Sendable {
  private let offsets: ScalarView<UInt64>
  private let bytes: ScalarView<UInt8>

  /// Writes `strings` as two sections of `writer`; returns the first section's number.
  @discardableResult
  public static func write(_ strings: [String], into writer: inout SectionedFileWriter) -> Int {
    var builder = Builder()
    builder.reserve(strings.count)
    for s in strings { builder.append(s) }
    return builder.write(into: &writer)
  }

  /// Accumulates a column string by string (for builders that stream their input), in memory or,
  /// when spooled, in two temporary files (`SpoolFile`) read back only when the file is written, so
  /// a column of millions of strings does not stay in memory. Not thread-safe; a spooled builder is
  /// one column: copies of it share the spool, so only one of them may be appended to.
  public struct Builder: Sendable {
    private var offsets: [UInt64] = [0]
    private var bytes: [UInt8] = []
    private var spool: (offsets: SpoolFile, bytes: SpoolFile)?
    private var appended = 0
    private var length: UInt64 = 0
    /// An empty column, in memory; spooled when `spooled` and temporary files can be made.
    public init(spooled: Bool = false) {
      if spooled, let offsets = SpoolFile(), let bytes = SpoolFile() {
        offsets.append(UInt64(0).littleEndian)
        spool = (offsets, bytes)
      }
    }
    /// Number of strings appended.
    public var count: Int { appended }
    /// Reserves room for `count` more strings (in memory only).
    public mutating func reserve(_ count: Int) { if spool == nil { offsets.reserveCapacity(offsets.count + count) } }
    /// Appends `s`. Amortised O(length).
    public mutating func append(_ s: String) {
      var s = s
      s.withUTF8 { append(utf8: UnsafeRawBufferPointer($0)) }
    }
    /// Appends the string whose UTF-8 is `utf8` (valid UTF-8, not checked). Amortised O(length).
    public mutating func append(utf8: UnsafeRawBufferPointer) {
      appended += 1
      guard let spool else {
        bytes += utf8
        offsets.append(UInt64(bytes.count))
        return
      }
      spool.bytes.append(utf8)
      length += UInt64(utf8.count)
      spool.offsets.append(length.littleEndian)
    }
    /// Writes the column as two sections of `writer`; returns the first section's number.
    @discardableResult
    public func write(into writer: inout SectionedFileWriter) -> Int {
      if let spool {
        let first = writer.add(spool: spool.offsets)
        writer.add(spool: spool.bytes)
        return first
      }
      let first = writer.add(offsets)
      writer.add(bytes: bytes)
      return first
    }
  }

  /// Reads the column at sections `first` and `first + 1`, checking that offsets start at 0, never
  /// decrease and stay inside the bytes (O(count)); and, when `sorted`, that strings ascend strictly.
  public init(_ file: SectionedFile, first: Int, expected: Int? = nil, sorted: Bool = false) throws {
    offsets = try file.scalars(first, as: UInt64.self, expected: expected.map { $0 + 1 })
    bytes = try file.scalars(first + 1, as: UInt8.self)
    guard offsets.count >= 1, offsets[0] == 0 else { throw file.corrupt("string column \(first) has no start offset") }
    var previous: UInt64 = 0
    for i in 1..<offsets.count {
      let o = offsets[i]
      guard o >= previous, o <= UInt64(bytes.count) else {
        throw file.corrupt("string column \(first): offset \(i) (\(o)) is out of order or outside \(bytes.count) bytes")
      }
      previous = o
    }
    if sorted {
      for i in 1..<max(1, count) where compare(i - 1, i) >= 0 {
        throw file.corrupt("string column \(first) is not sorted at \(i)")
      }
    }
  }

  /// Number of strings.
  public var count: Int { offsets.count - 1 }

  /// `strings` in the byte-wise UTF-8 order that `find` searches (not Swift's `<`).
  public static func utf8Sorted(_ strings: some Sequence<String>) -> [String] {
    strings.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  /// String `i`. Allocates; keep off per-candidate loops.
  public subscript(i: Int) -> String {
    let start = Int(offsets[i]), end = Int(offsets[i + 1])
    return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
  }

  /// Appends string `i`'s UTF-8 bytes to `buffer`: no `String` made (no allocation of its own, no
  /// validation), for building keys of many strings at once. O(length).
  @inline(__always) public func appendUTF8(_ i: Int, to buffer: inout [UInt8]) {
    let start = Int(offsets[i]), end = Int(offsets[i + 1])
    bytes.withUnsafeBufferPointer { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
  }

  /// Index of `key` in a sorted column, or nil. O(log count), no allocation.
  public func find(_ key: String) -> Int? {
    var key = key
    return key.withUTF8 { k in
      var low = 0, high = count - 1
      while low <= high {
        let mid = (low + high) / 2
        let c = compare(mid, k)
        if c == 0 { return mid }
        if c < 0 { low = mid + 1 } else { high = mid - 1 }
      }
      return nil
    }
  }

  /// Whether string `i` is `key`, byte for byte. O(length), no allocation (the subscript would
  /// make a `String` to compare).
  public func equals(_ i: Int, _ key: String) -> Bool {
    var key = key
    return key.withUTF8 { compare(i, $0) == 0 }
  }

  /// Whether some string of a sorted column starts with `prefix`. O(log count), no allocation.
  public func containsPrefix(_ prefix: String) -> Bool {
    var prefix = prefix
    return prefix.withUTF8 { p in
      // The first string not below the prefix is the only candidate.
      var low = 0, high = count
      while low < high {
        let mid = (low + high) / 2
        if compare(mid, p) < 0 { low = mid + 1 } else { high = mid }
      }
      guard low < count else { return false }
      let start = Int(offsets[low]), end = Int(offsets[low + 1])
      guard end - start >= p.count else { return false }
      return bytes.withUnsafeBufferPointer { b in (0..<p.count).allSatisfy { b[start + $0] == p[$0] } }
    }
  }

  /// Byte-wise comparison of string `i` with `key`: negative, zero or positive.
  private func compare(_ i: Int, _ key: UnsafeBufferPointer<UInt8>) -> Int {
    let start = Int(offsets[i]), end = Int(offsets[i + 1])
    return bytes.withUnsafeBufferPointer { b in
      let n = min(end - start, key.count)
      for j in 0..<n where b[start + j] != key[j] { return Int(b[start + j]) - Int(key[j]) }
      return (end - start) - key.count
    }
  }

  private func compare(_ i: Int, _ j: Int) -> Int {
    let start = Int(offsets[j]), end = Int(offsets[j + 1])
    return bytes.withUnsafeBufferPointer { b in compare(i, UnsafeBufferPointer(rebasing: b[start..<end])) }
  }
}
