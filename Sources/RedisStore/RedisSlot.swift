/// Redis Cluster's key-to-slot function: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the key,
/// or of its hash tag, modulo 16,384. The hash tag is the text between the first `{` and the next `}`
/// when that text is not empty, so `{user7}.a` and `{user7}.b` share a slot and a multi-key script
/// may touch both. Pure; O(key length).
public enum RedisSlot {
  /// Slots in a Redis Cluster.
  public static let count = 16_384

  /// The slot of `key`.
  public static func of<Bytes: Collection<UInt8>>(_ key: Bytes) -> Int {
    Int(crc16(hashed(key)) & UInt16(count - 1))
  }

  /// The slot of `key`'s UTF-8 bytes.
  public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

  /// The part of `key` that is hashed: its hash tag, or all of it.
  static func hashed<Bytes: Collection<UInt8>>(_ key: Bytes) -> Bytes.SubSequence {
    guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
    let afterOpen = key.index(after: open)
    guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else { return key[...] }
    return key[afterOpen..<close]
  }

  /// CRC16-XMODEM, table-driven.
  static func crc16<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt16 {
    var crc: UInt16 = 0
    for byte in bytes {
      crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
    }
    return crc
  }

  private static let table: [UInt16] = (0..<256).map { index -> UInt16 in
    var crc = UInt16(index) << 8
    for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
    return crc
  }
}
