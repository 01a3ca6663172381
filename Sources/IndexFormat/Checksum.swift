import CChecksum

/// CRC-32C (Castagnoli), the checksum of every index file footer and build input. Over raw buffers,
/// the CPU's instruction where it has one (x86 SSE 4.2, `CChecksum`), else eight bytes per step
/// through tables ("slicing by 8"); one byte per step over other sequences. Every path gives the same value.
///
/// Pure function; thread-safe.
public enum CRC32C {
  private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
    var c = UInt32(i)
    for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
    return c
  }

  /// The CRC-32C of `bytes`, continuing from `seed` (pass a previous result to checksum in pieces).
  public static func checksum<Bytes: Sequence>(_ bytes: Bytes, seed: UInt32 = 0) -> UInt32 where Bytes.Element == UInt8 {
    var crc = ~seed
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return ~crc
  }

  /// Table k maps a byte to its CRC contribution k bytes further on: `slices[k << 8 | b]`.
  private static let slices: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 { t[i] = table[i] }
    for k in 1..<8 {
      for i in 0..<256 { t[k << 8 | i] = (t[(k - 1) << 8 | i] >> 8) ^ table[Int(t[(k - 1) << 8 | i] & 0xFF)] }
    }
    return t
  }()

  /// Whether this CPU computes CRC-32C with its own instruction.
  public static let hardware = funnel_crc32c_supported() != 0

  /// The CRC-32C of raw bytes, continuing from `seed`: with the CPU's instruction when `hardware`
  /// (default: where the CPU has it), else eight bytes per step through the slice tables, the tail a
  /// byte at a time. The same value as the generic version. O(count).
  public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0, hardware: Bool = hardware) -> UInt32 {
    if hardware, Self.hardware, let base = bytes.baseAddress {
      return ~funnel_crc32c_update(~seed, base, bytes.count)
    }
    var crc = ~seed
    slices.withUnsafeBufferPointer { t in
      var i = 0
      let n = bytes.count
      while i + 8 <= n {
        let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ UInt64(crc)
        crc = t[7 << 8 | Int(word & 0xFF)] ^ t[6 << 8 | Int((word >> 8) & 0xFF)]
          ^ t[5 << 8 | Int((word >> 16) & 0xFF)] ^ t[4 << 8 | Int((word >> 24) & 0xFF)]
          ^ t[3 << 8 | Int((word >> 32) & 0xFF)] ^ t[2 << 8 | Int((word >> 40) & 0xFF)]
          ^ t[1 << 8 | Int((word >> 48) & 0xFF)] ^ t[Int(word >> 56)]
        i += 8
      }
      while i < n {
        crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
        i += 1
      }
    }
    return ~crc
  }

  /// The CRC-32C of an array's bytes, continuing from `seed` (the fast raw-buffer loop).
  public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBytes { checksum($0, seed: seed) }
  }
}
