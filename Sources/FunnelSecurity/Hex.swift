import Crypto

/// Bytes as lowercase hex digits and back: key hashes in the configuration, encryption keys in
/// files, user digests. O(bytes).
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// `bytes` as 2 lowercase hex digits each.
  public static func encode(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The bytes of `text` (hex digits, either case), or nil when it is not an even number of them.
  public static func decode(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    func value(_ c: UInt8) -> UInt8? {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
      default: nil
      }
    }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    for i in stride(from: 0, to: chars.count, by: 2) {
      guard let high = value(chars[i]), let low = value(chars[i + 1]) else { return nil }
      out.append(high << 4 | low)
    }
    return out
  }
}

/// A user id as records that must not hold it keep it: SHA-256, hex. Whoever has the id can find its
/// records; the records alone do not name the user.
public enum UserIDDigest {
  /// The 64 hex digits of SHA-256 of `userID`'s UTF-8 bytes.
  public static func hex(_ userID: String) -> String { Hex.encode(SHA256.hash(data: Array(userID.utf8))) }
}
