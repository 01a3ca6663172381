import Foundation
import FunnelCore

/// A candidate model on trial: a share of the users of some scenes is ranked by it (the arm
/// `canary:candidate` in answers and exposures) while the rest keep the serving model. Written by
/// `funnel pipeline retrain` to Redis (`redisKey`, JSON) and followed by every replica, so all of
/// them put the same users in the canary; removed by `funnel pipeline canary` when it promotes or
/// rolls back. Immutable value; thread-safe.
public struct Canary: Codable, Hashable, Sendable {
  /// The Redis key holding the fleet's canary (one at a time).
  public static let redisKey = "funnel:canary"
  /// The label answers and exposures carry in the canary (`EXPERIMENT:ARM`).
  public static let label = "canary:candidate"
  /// Largest share a canary may take: it is a trial, the serving model keeps the majority.
  public static let maxShare = 0.5

  /// The candidate's model version, as answers report it (e.g. `ranker/candidate-1765000000`).
  public var model: String
  /// The candidate's model file, readable by every replica (a shared registry).
  public var path: String
  /// Fraction of users in the canary, in (0, `maxShare`].
  public var share: Double
  /// Scenes on trial (raw values); empty: every scene.
  public var scenes: [String]
  /// When the trial started (Unix ms); exposures before it are not judged.
  public var startedMs: Int64
  /// The serving model version it is compared with.
  public var control: String

  /// A canary; throws `invalidArgument` naming the bad field.
  public init(model: String, path: String, share: Double, scenes: [String] = [], startedMs: Int64, control: String) throws {
    self.model = model
    self.path = path
    self.share = share
    self.scenes = scenes
    self.startedMs = startedMs
    self.control = control
    try check()
  }

  /// Decodes the JSON of `json()`; throws `invalidArgument` for anything else.
  public init(json: String) throws {
    do {
      self = try JSONDecoder().decode(Canary.self, from: Data(json.utf8))
    } catch {
      throw FunnelError(.invalidArgument, "canary: not a canary document (\(error))")
    }
    try check()
  }

  /// The JSON form (keys sorted, so equal canaries have equal documents).
  public func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  private func check() throws {
    guard !model.isEmpty else { throw FunnelError.invalidArgument(field: "canary.model", "must not be empty") }
    guard !path.isEmpty else { throw FunnelError.invalidArgument(field: "canary.path", "must not be empty") }
    guard share > 0, share <= Self.maxShare else {
      throw FunnelError.invalidArgument(field: "canary.share", "\(share) must be in (0, \(Self.maxShare)]")
    }
    let known = Set(Scene.allCases.map(\.rawValue))
    if let bad = scenes.first(where: { !known.contains($0) }) {
      throw FunnelError.invalidArgument(field: "canary.scenes", "unknown scene '\(bad)'")
    }
  }

  /// Whether `unit` (user, or session for anonymous traffic) asking in `scene` is in the canary: a
  /// stable hash of the candidate's version and the unit (`ExperimentPlan.bucket`), so every replica
  /// agrees and a new candidate draws a fresh sample of users. O(length of the ids).
  public func includes(unit: String, scene: String) -> Bool {
    guard !unit.isEmpty, covers(scene: scene) else { return false }
    let point = Double(ExperimentPlan.bucket(salt: "canary:" + model, unit: unit)) / Double(ExperimentPlan.buckets)
    return point < share
  }

  /// Whether the canary's trial covers `scene`.
  public func covers(scene: String) -> Bool { scenes.isEmpty || scenes.contains(scene) }
}
