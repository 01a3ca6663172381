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
  /// Each token's string is made once, lower-cased as it is written (no scratch buffer).
  private static func asciiTokens(_ text: String) -> [String]? {
    var text = text
    return text.withUTF8 { bytes -> [String]? in
      var result: [String] = []
      result.reserveCapacity(bytes.count / 6 + 1)
      var start = -1
      func flush(_ end: Int) {
        let token = UnsafeBufferPointer(rebasing: bytes[start..<end])
        result.append(String(unsafeUninitializedCapacity: token.count) { out in
          for (i, byte) in token.enumerated() { out[i] = byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte }
          return token.count
        })
        start = -1
      }
      for (i, byte) in bytes.enumerated() {
        if byte >= 0x80 { return nil }
        if isASCIIAlphanumeric(byte) {
          if start < 0 { start = i }
        } else if start >= 0 {
          flush(i)
        }
      }
      if start >= 0 { flush(bytes.count) }
      return result
    }
  }

  /// Whether `byte` is an ASCII letter or digit.
  @inline(__always)
  private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
    byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 26
  }
}
