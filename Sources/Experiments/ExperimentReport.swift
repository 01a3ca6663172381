import Foundation
import FeatureStore

/// Per-arm results of experiments: exposures, click-through, add-to-cart and conversion rates and
/// revenue per exposure, each with a 95% confidence interval (normal approximation: p +- 1.96
/// sqrt(p(1-p)/n); mean +- 1.96 s/sqrt(n)) and, against the experiment's control, a z-test
/// (two-proportion pooled z for rates, Welch's z for revenue) with its two-sided p-value.
/// The unit is one served list: a list counts as clicked if any shown item was clicked.
public struct ArmReport: Hashable, Sendable {
  /// A proportion with its interval and test.
  public struct Rate: Hashable, Sendable {
    /// Lists with the event, and lists.
    public var successes: Int
    /// See `successes`.
    public var trials: Int
    /// successes / trials.
    public var value: Double
    /// The 95% interval, clamped to 0...1.
    public var low: Double
    /// See `low`.
    public var high: Double
    /// Against control (nil for the control arm, or without one).
    public var z: Double?
    /// Two-sided p-value of `z`.
    public var pValue: Double?
  }

  /// A mean with its interval and test.
  public struct Mean: Hashable, Sendable {
    /// The mean per list.
    public var value: Double
    /// The 95% interval.
    public var low: Double
    /// See `low`.
    public var high: Double
    /// Welch's z against control (nil for control).
    public var z: Double?
    /// Two-sided p-value of `z`.
    public var pValue: Double?
  }

  /// Experiment name ("" outside experiments).
  public var experiment: String
  /// Arm name (`default` outside experiments).
  public var arm: String
  /// Whether this is the experiment's control.
  public var isControl: Bool
  /// Served lists.
  public var exposures: Int
  /// Lists with an attributed click.
  public var clickThrough: Rate
  /// Lists with an attributed add-to-cart.
  public var addToCart: Rate
  /// Lists with an attributed purchase.
  public var conversion: Rate
  /// Attributed revenue per list.
  public var revenuePerExposure: Mean
  /// Attributed revenue in total.
  public var revenue: Double

  /// One report per arm seen in `attributed` (labels `EXPERIMENT:ARM`; exposures outside
  /// experiments are the arm `default` of experiment ""), sorted by experiment then arm, control
  /// first. `controls` maps an experiment to its control arm.
  public static func build(_ attributed: [AttributedExposure], controls: [String: String]) -> [ArmReport] {
    var groups: [String: [AttributedExposure]] = [:]
    for a in attributed { groups[a.exposure.arm, default: []].append(a) }
    struct Tally { var n = 0, clicks = 0, carts = 0, conversions = 0, revenue = 0.0, revenueSquares = 0.0 }
    var tallies: [(experiment: String, arm: String, tally: Tally)] = groups.map { label, list in
      let parts = label.split(separator: ":", maxSplits: 1).map(String.init)
      var t = Tally()
      for a in list {
        t.n += 1
        if a.clicked { t.clicks += 1 }
        if a.carted { t.carts += 1 }
        if a.converted { t.conversions += 1 }
        let r = a.revenue
        t.revenue += r
        t.revenueSquares += r * r
      }
      return parts.count == 2 ? (parts[0], parts[1], t) : ("", label, t)
    }
    tallies.sort { ($0.experiment, controls[$0.experiment] == $0.arm ? "" : $0.arm) < ($1.experiment, controls[$1.experiment] == $1.arm ? "" : $1.arm) }
    func rate(_ k: Int, _ n: Int, control: (Int, Int)?) -> Rate {
      let p = n == 0 ? 0 : Double(k) / Double(n)
      let half = n == 0 ? 0 : 1.96 * (p * (1 - p) / Double(n)).squareRoot()
      var z: Double?
      if let (k0, n0) = control, n > 0, n0 > 0 {
        let pooled = Double(k + k0) / Double(n + n0)
        let se = (pooled * (1 - pooled) * (1 / Double(n) + 1 / Double(n0))).squareRoot()
        z = se > 0 ? (p - Double(k0) / Double(n0)) / se : 0
      }
      return Rate(successes: k, trials: n, value: p, low: max(0, p - half), high: min(1, p + half), z: z, pValue: z.map(twoSided))
    }
    func mean(_ t: Tally, control: Tally?) -> Mean {
      let (m, v) = moments(t)
      let half = t.n == 0 ? 0 : 1.96 * (v / Double(t.n)).squareRoot()
      var z: Double?
      if let c = control, t.n > 0, c.n > 0 {
        let (m0, v0) = moments(c)
        let se = (v / Double(t.n) + v0 / Double(c.n)).squareRoot()
        z = se > 0 ? (m - m0) / se : 0
      }
      return Mean(value: m, low: m - half, high: m + half, z: z, pValue: z.map(twoSided))
    }
    func moments(_ t: Tally) -> (mean: Double, variance: Double) {
      guard t.n > 0 else { return (0, 0) }
      let m = t.revenue / Double(t.n)
      let v = t.n > 1 ? max(0, (t.revenueSquares - Double(t.n) * m * m) / Double(t.n - 1)) : 0
      return (m, v)
    }
    return tallies.map { e, arm, t in
      let isControl = controls[e] == arm
      let control = isControl ? nil : tallies.first { $0.experiment == e && controls[e] == $0.arm }?.tally
      return ArmReport(
        experiment: e, arm: arm, isControl: isControl, exposures: t.n,
        clickThrough: rate(t.clicks, t.n, control: control.map { ($0.clicks, $0.n) }),
        addToCart: rate(t.carts, t.n, control: control.map { ($0.carts, $0.n) }),
        conversion: rate(t.conversions, t.n, control: control.map { ($0.conversions, $0.n) }),
        revenuePerExposure: mean(t, control: control), revenue: t.revenue)
    }
  }

  /// Two-sided p-value of a standard normal z.
  static func twoSided(_ z: Double) -> Double { erfc(abs(z) / 2.0.squareRoot()) }
}
