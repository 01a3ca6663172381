/// A small, fast, deterministic random number generator (SplitMix64, Steele et al. 2014).
///
/// The demo catalog must be the same on every machine and Swift version, which
/// `SystemRandomNumberGenerator` is not. Not thread-safe: one per generator run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Seeds the generator; equal seeds give equal sequences.
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform double in [0, 1).
  public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// An index in `0..<n` drawn from a Zipf-like distribution with exponent `s` (rank 0 most likely).
  ///
  /// Uses the continuous inverse-CDF approximation: O(1), no tables; exact enough for demo data.
  public mutating func zipfIndex(_ n: Int, s: Double = 1.07) -> Int {
    precondition(n > 0, "zipfIndex needs a non-empty range")
    let u = unit()
    let x: Double
    if abs(s - 1) < 1e-9 {
      x = pow(Double(n) + 1, u)
    } else {
      let a = 1 - s
      x = pow(u * (pow(Double(n) + 1, a) - 1) + 1, 1 / a)
    }
    return min(n - 1, max(0, Int(x) - 1))
  }

  /// A log-normal draw with the given median and spread (sigma of the underlying normal).
  public mutating func logNormal(median: Double, sigma: Double) -> Double {
    let u1 = max(unit(), 1e-12), u2 = unit()
    let normal = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    return median * exp(sigma * normal)
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
