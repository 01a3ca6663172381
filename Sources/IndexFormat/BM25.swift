#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Okapi BM25 with k1 = 1.2 and b = 0.75: one definition for the index builder (block maxima) and
/// the text channel (scores), so upper bounds and scores are computed by the same operations.
public enum BM25 {
  public static let k1: Float = 1.2
  public static let b: Float = 0.75

  /// Inverse document frequency, `log(1 + (N - df + 0.5) / (df + 0.5))`.
  @inline(__always) public static func idf(documents: Int, frequency: Int) -> Float {
    let n = Float(documents), df = Float(frequency)
    return log(1 + (n - df + 0.5) / (df + 0.5))
  }

  /// One term's contribution for a document of `length` tokens with term frequency `frequency`.
  @inline(__always) public static func score(idf: Float, frequency: UInt32, length: UInt16, average: Float) -> Float {
    let tf = Float(frequency)
    let norm = k1 * (1 - b + b * Float(length) / average)
    return idf * tf * (k1 + 1) / (tf + norm)
  }
}
