import FeatureStore
import Foundation

/// Decides a canary from what users did: the canary's served lists against the serving model's
/// lists in the same scenes since the trial started (each with its attributed events), on the
/// guarded rate (click-through or conversion, per list, as `ArmReport` counts it), and on two
/// guardrails of the answers themselves: latency (95th percentile of the engine's time per answer)
/// and errors (the share of degraded answers, where a store or stage fell back).
///
/// - **rollback** when the canary is worse by more than `tolerance` (relative) and the difference is
///   significant (two-proportion z-test, two-sided p < `alpha`); when its answers' p95 latency is more
///   than `latencyTolerance` (relative) above the serving model's; when its share of degraded answers
///   is higher by more than one point and significantly so; also when `maxDurationMs` has passed
///   without `minExposures` lists in each group (a trial that cannot be judged is not promoted);
/// - **promote** once both groups have `minExposures` lists and the canary did not lose (it won or held);
/// - **wait** otherwise.
/// Pure; O(lists).
public struct CanaryJudge: Sendable {
  /// The guarded rate.
  public enum Metric: String, CaseIterable, Sendable {
    /// Lists with an attributed click.
    case clickThrough = "ctr"
    /// Lists with an attributed purchase.
    case conversion
  }

  /// What to do with the canary.
  public enum Decision: String, Sendable {
    /// Make the candidate the serving model.
    case promote
    /// Remove the candidate; the serving model keeps all traffic.
    case rollback
    /// Not enough lists yet.
    case wait
  }

  /// A decision with the figures behind it.
  public struct Verdict: Hashable, Sendable {
    /// The decision.
    public var decision: Decision
    /// The canary's rate (`successes` / `trials`, z and p against the serving model).
    public var canary: ArmReport.Rate
    /// The serving model's rate in the same scenes and time.
    public var control: ArmReport.Rate
    /// (canary - control) / control; 0 when control is 0.
    public var lift: Double
    /// 95th percentile of the canary's and the serving model's time per answer, µs (0: not logged).
    public var canaryP95Micros: UInt32
    /// See `canaryP95Micros`.
    public var controlP95Micros: UInt32
    /// Share of degraded answers in the canary and under the serving model.
    public var canaryDegraded: Double
    /// See `canaryDegraded`.
    public var controlDegraded: Double
    /// One sentence: why.
    public var reason: String
  }

  /// The guarded rate.
  public var metric: Metric
  /// Lists each group needs before a decision.
  public var minExposures: Int
  /// Relative loss tolerated before a significant difference counts as losing (0.05: 5% worse).
  public var tolerance: Double
  /// Significance level of the z-test.
  public var alpha: Double
  /// Longest trial (ms) before an undecidable canary is rolled back.
  public var maxDurationMs: Int64
  /// Relative p95 latency increase tolerated (0.25: 25% slower).
  public var latencyTolerance: Double

  /// A judge; see the type's description for the rule.
  public init(metric: Metric = .clickThrough, minExposures: Int = 1_000, tolerance: Double = 0.02, alpha: Double = 0.05,
              maxDurationMs: Int64 = 7 * 86_400_000, latencyTolerance: Double = 0.25) {
    self.metric = metric
    self.minExposures = max(1, minExposures)
    self.tolerance = max(0, tolerance)
    self.alpha = alpha
    self.maxDurationMs = maxDurationMs
    self.latencyTolerance = max(0, latencyTolerance)
  }

  /// Judges `canary` at `nowMs` from `attributed` lists (any order; lists outside the trial's scenes,
  /// before its start, or served by neither model are ignored).
  public func judge(_ canary: Canary, attributed: [AttributedExposure], nowMs: Int64) -> Verdict {
    var groups: [AttributedExposure] = []
    for a in attributed where a.exposure.timestampMs >= canary.startedMs && canary.covers(scene: a.exposure.scene) {
      var relabelled = a
      if a.exposure.arm == Canary.label && a.exposure.modelVersion == canary.model {
        relabelled.exposure.arm = "canary:candidate"
      } else if a.exposure.arm != Canary.label && a.exposure.modelVersion == canary.control {
        relabelled.exposure.arm = "canary:control"
      } else {
        continue
      }
      groups.append(relabelled)
    }
    let reports = ArmReport.build(groups, controls: ["canary": "control"])
    let empty = ArmReport.Rate(successes: 0, trials: 0, value: 0, low: 0, high: 0, z: nil, pValue: nil)
    func rate(_ arm: String) -> ArmReport.Rate {
      guard let r = reports.first(where: { $0.experiment == "canary" && $0.arm == arm }) else { return empty }
      return metric == .clickThrough ? r.clickThrough : r.conversion
    }
    let (candidate, control) = (rate("candidate"), rate("control"))
    let lift = control.value > 0 ? (candidate.value - control.value) / control.value : 0
    let inCanary = groups.filter { $0.exposure.arm == "canary:candidate" }.map(\.exposure)
    let inControl = groups.filter { $0.exposure.arm == "canary:control" }.map(\.exposure)
    let (p95, p95Control) = (Self.p95(inCanary), Self.p95(inControl))
    let (degraded, degradedControl) = (inCanary.filter(\.degraded).count, inControl.filter(\.degraded).count)
    let (share, shareControl) = (Double(degraded) / Double(max(1, inCanary.count)), Double(degradedControl) / Double(max(1, inControl.count)))
    func verdict(_ d: Decision, _ reason: String) -> Verdict {
      Verdict(decision: d, canary: candidate, control: control, lift: lift, canaryP95Micros: p95, controlP95Micros: p95Control,
              canaryDegraded: share, controlDegraded: shareControl, reason: reason)
    }
    let figures = "\(metric.rawValue) \(Self.percent(candidate.value)) over \(candidate.trials) lists against "
      + "\(Self.percent(control.value)) over \(control.trials) (lift \(Self.percent(lift)))"
    if candidate.trials >= minExposures, control.trials >= minExposures {
      if let p = candidate.pValue, p < alpha, lift < -tolerance {
        return verdict(.rollback, "the candidate loses: \(figures), p = \(Self.format(p))")
      }
      if p95 > 0, p95Control > 0, Double(p95) > Double(p95Control) * (1 + latencyTolerance) {
        return verdict(.rollback, "the candidate is too slow: p95 \(p95) µs per answer against \(p95Control) µs "
                       + "(more than \(Self.percent(latencyTolerance)) slower); \(figures)")
      }
      let z = Self.z(degraded, inCanary.count, degradedControl, inControl.count)
      if share - shareControl > 0.01, z > 0, ArmReport.twoSided(z) < alpha {
        return verdict(.rollback, "the candidate degrades more answers: \(Self.percent(share)) against \(Self.percent(shareControl)), "
                       + "p = \(Self.format(ArmReport.twoSided(z))); \(figures)")
      }
      let p = candidate.pValue.map { ", p = \(Self.format($0))" } ?? ""
      return verdict(.promote, "the candidate \(lift > 0 && (candidate.pValue ?? 1) < alpha ? "wins" : "holds"): \(figures)\(p)")
    }
    if nowMs - canary.startedMs > maxDurationMs {
      return verdict(.rollback, "too little traffic to judge within the trial's \(maxDurationMs / 3_600_000) h: \(figures)")
    }
    return verdict(.wait, "waiting for \(minExposures) lists in each group: \(figures)")
  }

  /// The 95th percentile of the logged answer times (nearest rank); 0 when none is logged.
  static func p95(_ exposures: [Exposure]) -> UInt32 {
    let times = exposures.map(\.latencyMicros).filter { $0 > 0 }.sorted()
    guard !times.isEmpty else { return 0 }
    return times[min(times.count - 1, Int((Double(times.count) * 0.95).rounded(.up)) - 1)]
  }

  /// Pooled two-proportion z of k1/n1 against k0/n0.
  static func z(_ k1: Int, _ n1: Int, _ k0: Int, _ n0: Int) -> Double {
    guard n1 > 0, n0 > 0 else { return 0 }
    let pooled = Double(k1 + k0) / Double(n1 + n0)
    let se = (pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n0))).squareRoot()
    return se > 0 ? (Double(k1) / Double(n1) - Double(k0) / Double(n0)) / se : 0
  }

  static func percent(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }
  static func format(_ p: Double) -> String { String(format: "%.3g", p) }
}
