/// The little-endian primitives of the packed layouts (`PackedEvent`, `PackedExposure`): integers of
/// a fixed width and strings as a u16 byte count then UTF-8.
enum PackedBytes {
  /// Appends `value` little-endian.
  static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out += $0 }
  }

  /// Appends `text` as a u16 length and its UTF-8 bytes (cut at 65,535 bytes).
  static func append(_ text: String, to out: inout [UInt8]) {
    let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
    append(UInt16(utf8.count), to: &out)
    out += utf8
  }

  /// Reads what `append` wrote, front to back; every read is nil past the end.
  struct Reader {
    let bytes: [UInt8]
    var at: Int

    /// A reader starting at `at`.
    init(_ bytes: [UInt8], at: Int) {
      self.bytes = bytes
      self.at = at
    }

    /// The next `width`-byte little-endian integer.
    mutating func integer(_ width: Int) -> UInt64? {
      guard at + width <= bytes.count else { return nil }
      defer { at += width }
      return (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    /// The next length-prefixed string.
    mutating func text() -> String? {
      guard let n = integer(2), at + Int(n) <= bytes.count else { return nil }
      defer { at += Int(n) }
      return String(decoding: bytes[at..<at + Int(n)], as: UTF8.self)
    }

    /// Whether every byte was read.
    var atEnd: Bool { at == bytes.count }
  }
}
