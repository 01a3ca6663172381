/// 95% confidence intervals for the recommendation indicators. Pure functions; thread-safe.
public enum ConfidenceInterval {
  /// z for a two-sided 95% interval.
  public static let z95 = 1.959963984540054

  /// Wilson's score interval for `successes` out of `trials` (CTR, add-to-cart rate, conversion):
  /// unlike the normal approximation, it stays in [0, 1] and is sensible for rare events and small
  /// samples. `(0, 1)` when there are no trials.
  public static func wilson(successes: Double, trials: Double, z: Double = z95) -> (low: Double, high: Double) {
    guard trials > 0 else { return (0, 1) }
    let p = min(1, max(0, successes / trials))
    let z2 = z * z
    let denominator = 1 + z2 / trials
    let centre = (p + z2 / (2 * trials)) / denominator
    let half = z * ((p * (1 - p) / trials + z2 / (4 * trials * trials)).squareRoot()) / denominator
    return (max(0, centre - half), min(1, centre + half))
  }

  /// The normal interval of a mean over `n` observations from their sum and sum of squares (revenue
  /// per impression: most impressions earn 0, so the sums over purchases are the sums over all).
  /// `(0, 0)` for no observations.
  public static func mean(sum: Double, sumOfSquares: Double, n: Double, z: Double = z95) -> (low: Double, high: Double) {
    guard n > 0 else { return (0, 0) }
    let mean = sum / n
    let variance = n > 1 ? max(0, (sumOfSquares - n * mean * mean) / (n - 1)) : 0
    let half = z * (variance / n).squareRoot()
    return (max(0, mean - half), mean + half)
  }
}
