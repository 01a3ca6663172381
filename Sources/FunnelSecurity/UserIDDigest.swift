import Crypto

/// A user id as records that must not hold it keep it: SHA-256, hex. Whoever has the id can find its
/// records; the records alone do not name the user.
public enum UserIDDigest {
  /// The 64 hex digits of SHA-256 of `userID`'s UTF-8 bytes.
  public static func hex(_ userID: String) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for byte in SHA256.hash(data: Array(userID.utf8)) {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}
