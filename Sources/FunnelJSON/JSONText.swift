/// Hand-written JSON text for the hot writers (catalog/event lines, batch output): Foundation's
/// `JSONSerialization` bridges every value through `NSDictionary`/`NSArray`, which dominated
/// `funnel batch`'s CPU. Pure functions; thread-safe.
public enum JSONText {
  /// Appends `s` as a JSON string (quotes, backslash and control characters escaped).
  public static func appendString(_ s: String, to buffer: inout [UInt8]) {
    buffer.append(UInt8(ascii: "\""))
    for byte in s.utf8 {
      switch byte {
      case UInt8(ascii: "\""): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
      case UInt8(ascii: "\\"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
      case 0x0A: buffer += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
      case 0x0D: buffer += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
      case 0x09: buffer += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
      case 0..<0x20:
        let hex = Array("0123456789abcdef".utf8)
        buffer += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
      default: buffer.append(byte)
      }
    }
    buffer.append(UInt8(ascii: "\""))
  }

  /// Appends `x` as a JSON number: integers without a fraction, others in Swift's shortest
  /// round-trip form; `null` for NaN and infinities, which JSON cannot hold.
  public static func appendNumber(_ x: Double, to buffer: inout [UInt8]) {
    guard x.isFinite else {
      buffer += Array("null".utf8)
      return
    }
    if x == x.rounded(), abs(x) < 1e15 { buffer += String(Int64(x)).utf8 } else { buffer += x.description.utf8 }
  }
}
