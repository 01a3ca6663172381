import FunnelCore
import Foundation
import Synchronization

/// What the online learner knows of each recall channel in each scene: how many of its items were
/// shown and how many of those were clicked (counts decay by halving past a cap, so the estimate
/// follows shoppers as they change and stays bounded). Value type; thread-safe to share.
public struct ChannelArms: Hashable, Sendable {
  /// One channel in one scene.
  public struct Arm: Hashable, Sendable {
    /// Items of the channel shown (possibly halved).
    public var shown: Double
    /// Of those, clicked.
    public var clicked: Double

    /// An arm with these counts.
    public init(shown: Double = 0, clicked: Double = 0) {
      self.shown = shown
      self.clicked = clicked
    }

    /// Posterior mean click rate under a Beta(1, 1) prior.
    public var mean: Double { (clicked + 1) / (shown + 2) }
  }

  /// Scene -> channel -> arm.
  public var arms: [String: [String: Arm]]

  /// Arms as given.
  public init(arms: [String: [String: Arm]] = [:]) { self.arms = arms }

  /// The arm of `channel` in `scene` (zero counts when unseen).
  public func arm(scene: String, channel: String) -> Arm { arms[scene]?[channel] ?? Arm() }
}

/// Thompson sampling over recall channels: for each of the first slots of an answer, one draw per
/// channel from Beta(1 + clicked, 1 + shown - clicked), and the slot goes to the best-ranked
/// remaining item of the channel with the highest draw. Channels that earn clicks get more slots as
/// the evidence grows; the others keep a chance in proportion to their uncertainty (exploration,
/// and a way in for new items of a channel). The model still orders items within a channel.
/// Pure; O(slots x channels) per answer.
public enum ChannelBandit {
  /// Reorders `ranked` (candidate index, score; best first): each of the first `slots` positions is
  /// filled as described; the rest follow in their ranked order. `channelOf` gives a candidate's
  /// channel index into `arms` (the channel it is credited to). Deterministic for one `rng` state.
  public static func order(_ ranked: [(Int, Float)], slots: Int, arms: [ChannelArms.Arm], channelOf: (Int) -> Int,
                           rng: inout SplitMix64) -> [(Int, Float)] {
    guard slots > 0, arms.count > 1, ranked.count > 1 else { return ranked }
    // Per channel, the positions in `ranked` of its items, best first.
    var queues = [[Int]](repeating: [], count: arms.count)
    for (position, entry) in ranked.enumerated() {
      let c = channelOf(entry.0)
      if c >= 0, c < arms.count { queues[c].append(position) }
    }
    var next = [Int](repeating: 0, count: arms.count)
    var taken = [Bool](repeating: false, count: ranked.count)
    var out: [(Int, Float)] = []
    out.reserveCapacity(ranked.count)
    for _ in 0..<min(slots, ranked.count) {
      var best = -1
      var bestDraw = -1.0
      for c in arms.indices where next[c] < queues[c].count {
        let a = arms[c]
        let draw = beta(1 + max(0, a.clicked), 1 + max(0, a.shown - a.clicked), &rng)
        if draw > bestDraw { (best, bestDraw) = (c, draw) }
      }
      guard best >= 0 else { break }
      let position = queues[best][next[best]]
      next[best] += 1
      taken[position] = true
      out.append(ranked[position])
    }
    for (position, entry) in ranked.enumerated() where !taken[position] { out.append(entry) }
    return out
  }

  /// A draw from Beta(a, b) (a, b > 0): X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
  public static func beta(_ a: Double, _ b: Double, _ rng: inout SplitMix64) -> Double {
    let x = gamma(a, &rng)
    let y = gamma(b, &rng)
    return x + y > 0 ? x / (x + y) : 0.5
  }

  /// A draw from Gamma(shape, 1) by Marsaglia and Tsang's method (shape < 1 boosted by U^(1/shape)).
  public static func gamma(_ shape: Double, _ rng: inout SplitMix64) -> Double {
    if shape < 1 { return gamma(shape + 1, &rng) * pow(max(rng.unit(), .leastNonzeroMagnitude), 1 / shape) }
    let d = shape - 1.0 / 3
    let c = 1 / (9 * d).squareRoot()
    while true {
      var x: Double
      var v: Double
      repeat {
        x = normal(&rng)
        v = 1 + c * x
      } while v <= 0
      v = v * v * v
      let u = rng.unit()
      if u < 1 - 0.0331 * x * x * x * x { return d * v }
      if log(max(u, .leastNonzeroMagnitude)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
    }
  }

  /// A standard normal draw (Box-Muller).
  static func normal(_ rng: inout SplitMix64) -> Double {
    let u1 = max(rng.unit(), .leastNonzeroMagnitude)
    let u2 = rng.unit()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }

  /// A seed from a request id (FNV-1a 64), so one request's draws are reproducible.
  public static func seed(_ requestID: String) -> UInt64 { FNV1a.hash(requestID) }
}

/// The channel arms this replica applies (set by the online learner's follower). Thread-safe.
final class ChannelArmsSlot: Sendable {
  private let current = Mutex<ChannelArms?>(nil)
  var value: ChannelArms? { current.withLock { $0 } }
  func set(_ arms: ChannelArms?) { current.withLock { $0 = arms } }
}
