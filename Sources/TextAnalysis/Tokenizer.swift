/// Splits text into lower-cased alphanumeric tokens (Unicode letters and digits; everything else
/// separates). The same function indexes and queries, so both sides agree.
public enum Tokenizer {
  /// The tokens of `text`, in order, lower-cased. O(length).
  public static func tokens(_ text: String) -> [String] {
    if let ascii = asciiTokens(text) { return ascii }
    var result: [String] = []
    var current = ""
    for scalar in text.unicodeScalars {
      if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
        current.unicodeScalars.append(scalar)
      } else if !current.isEmpty {
        result.append(current.lowercased())
        current = ""
      }
    }
    if !current.isEmpty { result.append(current.lowercased()) }
    return result
  }

  /// `tokens` for all-ASCII text (most catalog text) without Unicode property lookups: letters and
  /// digits are exactly the ASCII scalars that are alphabetic or numeric. Nil when `text` is not ASCII.
  private static func asciiTokens(_ text: String) -> [String]? {
    var text = text
    return text.withUTF8 { bytes -> [String]? in
      var result: [String] = []
      var token: [UInt8] = []
      for byte in bytes {
        switch byte {
        case 0x80...: return nil
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): token.append(byte + 32)
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): token.append(byte)
        default:
          if !token.isEmpty {
            result.append(String(decoding: token, as: UTF8.self))
            token.removeAll(keepingCapacity: true)
          }
        }
      }
      if !token.isEmpty { result.append(String(decoding: token, as: UTF8.self)) }
      return result
    }
  }
}
