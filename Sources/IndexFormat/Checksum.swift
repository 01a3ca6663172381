/// CRC-32C (Castagnoli), the checksum of every index file footer. Table-driven, 1 byte per step.
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

  /// The CRC-32C of raw bytes, continuing from `seed`: a pointer loop, several times faster than
  /// the generic version over `Data` or array slices. O(count).
  public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    var crc = ~seed
    table.withUnsafeBufferPointer { t in
      for byte in bytes { crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
    return ~crc
  }

  /// The CRC-32C of an array's bytes, continuing from `seed` (the fast raw-buffer loop).
  public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBytes { checksum($0, seed: seed) }
  }
}
