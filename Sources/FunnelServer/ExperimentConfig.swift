import Experiments
import Foundation
import FunnelCore

/// The `experiments` section of the config file:
///
///     "experiments": [
///       { "name": "ranker-v2", "salt": "2026-11", "scenes": ["home", "email"], "control": "control",
///         "arms": [ { "name": "control", "share": 0.5 },
///                   { "name": "v2", "share": 0.5, "model": "models/v2.json", "maxPerCategory": 3,
///                     "quotas": { "similar": 500, "trending": 0 } } ] } ]
///
/// Errors name the file and the key path (`experiments[0].arms[1].share`).
public enum ExperimentConfig {
  /// Parses the section's JSON value (from `JSONSerialization`) and checks the plan.
  public static func parse(_ value: Any, path: String) throws -> [ExperimentPlan.Experiment] {
    let reader = ConfigReader(path: path)
    guard let list = value as? [Any] else { throw FunnelError(.invalidArgument, "config \(path): 'experiments' must be an array") }
    let experiments = try list.enumerated().map { i, item -> ExperimentPlan.Experiment in
      let at = "experiments[\(i)]"
      guard let e = item as? [String: Any] else { throw FunnelError(.invalidArgument, "config \(path): '\(at)' must be an object") }
      try reader.check(e, allowed: ["name", "salt", "scenes", "control", "arms"], at: at)
      guard let name = try reader.string(e, "name", at: at), let salt = try reader.string(e, "salt", at: at),
            let control = try reader.string(e, "control", at: at) else {
        throw FunnelError(.invalidArgument, "config \(path): '\(at)' needs name, salt, control and arms")
      }
      let scenes = try (e["scenes"]).map { value -> Set<String> in
        guard let names = value as? [String] else { throw FunnelError(.invalidArgument, "config \(path): '\(at).scenes' must be an array of strings") }
        return Set(names)
      } ?? []
      guard let arms = e["arms"] as? [Any] else { throw FunnelError(.invalidArgument, "config \(path): '\(at).arms' must be an array") }
      let parsedArms = try arms.enumerated().map { j, armValue -> ExperimentPlan.Arm in
        let armAt = "\(at).arms[\(j)]"
        guard let arm = armValue as? [String: Any] else { throw FunnelError(.invalidArgument, "config \(path): '\(armAt)' must be an object") }
        try reader.check(arm, allowed: ["name", "share", "model", "maxPerCategory", "quotas"], at: armAt)
        guard let armName = try reader.string(arm, "name", at: armAt) else {
          throw FunnelError(.invalidArgument, "config \(path): '\(armAt).name' is required")
        }
        guard let share = (arm["share"] as? NSNumber)?.doubleValue, !String(describing: type(of: arm["share"]!)).contains("Boolean") else {
          throw FunnelError(.invalidArgument, "config \(path): '\(armAt).share' must be a number in 0...1")
        }
        var quotas: [String: Int] = [:]
        if let q = arm["quotas"] {
          guard let object = q as? [String: Any] else { throw FunnelError(.invalidArgument, "config \(path): '\(armAt).quotas' must be an object") }
          for key in object.keys { quotas[key] = try reader.int(object, key, at: "\(armAt).quotas", range: 0...10_000) }
        }
        return ExperimentPlan.Arm(name: armName, share: share, modelPath: try reader.string(arm, "model", at: armAt),
                                  maxPerCategory: try reader.int(arm, "maxPerCategory", at: armAt, range: 1...1_000), quotas: quotas)
      }
      return ExperimentPlan.Experiment(name: name, salt: salt, scenes: scenes, arms: parsedArms, control: control)
    }
    do {
      return try ExperimentPlan(experiments: experiments).experiments
    } catch let error as FunnelError {
      throw FunnelError(.invalidArgument, "config \(path): \(error.message)")
    }
  }
}
