import Experiments
import FunnelCore
import FunnelJSON

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
  /// Parses the section's JSON value and checks the plan.
  public static func parse(_ value: JSONValue, path: String) throws -> [ExperimentPlan.Experiment] {
    let reader = Reader(path: path)
    let experiments = try reader.array(value, at: "experiments").enumerated().map { i, item -> ExperimentPlan.Experiment in
      let at = "experiments[\(i)]"
      let e = try reader.object(item, at: at, allowed: ["name", "salt", "scenes", "control", "arms"])
      guard let name = try reader.string(e["name"], at: "\(at).name"), let salt = try reader.string(e["salt"], at: "\(at).salt"),
            let control = try reader.string(e["control"], at: "\(at).control"), let arms = e["arms"] else {
        throw reader.error("'\(at)' needs name, salt, control and arms")
      }
      var scenes: Set<String> = []
      if let list = e["scenes"] {
        for (j, scene) in try reader.array(list, at: "\(at).scenes").enumerated() {
          guard let s = try reader.string(scene, at: "\(at).scenes[\(j)]") else { throw reader.error("'\(at).scenes[\(j)]' must be a string") }
          scenes.insert(s)
        }
      }
      let parsedArms = try reader.array(arms, at: "\(at).arms").enumerated().map { j, armValue -> ExperimentPlan.Arm in
        let armAt = "\(at).arms[\(j)]"
        let arm = try reader.object(armValue, at: armAt, allowed: ["name", "share", "model", "maxPerCategory", "quotas"])
        guard let armName = try reader.string(arm["name"], at: "\(armAt).name") else { throw reader.error("'\(armAt).name' is required") }
        guard case .number(let share) = arm["share"] else { throw reader.error("'\(armAt).share' must be a number in 0...1") }
        var quotas: [String: Int] = [:]
        if let q = arm["quotas"] {
          for (key, value) in try reader.object(q, at: "\(armAt).quotas", allowed: nil) {
            quotas[key] = try reader.integer(value, at: "\(armAt).quotas.\(key)", range: 0...10_000)
          }
        }
        return ExperimentPlan.Arm(name: armName, share: share, modelPath: try reader.string(arm["model"], at: "\(armAt).model"),
                                  maxPerCategory: try reader.integer(arm["maxPerCategory"], at: "\(armAt).maxPerCategory", range: 1...1_000),
                                  quotas: quotas)
      }
      return ExperimentPlan.Experiment(name: name, salt: salt, scenes: scenes, arms: parsedArms, control: control)
    }
    do {
      return try ExperimentPlan(experiments: experiments).experiments
    } catch let error as FunnelError {
      throw reader.error(error.message)
    }
  }

  /// Typed reads of the section's JSON with errors that name the file and the key path.
  private struct Reader {
    let path: String

    func error(_ message: String) -> FunnelError { FunnelError(.invalidArgument, "config \(path): \(message)") }

    func array(_ value: JSONValue, at place: String) throws -> [JSONValue] {
      guard case .array(let items) = value else { throw error("'\(place)' must be an array") }
      return items
    }

    /// The object's members; with `allowed`, an unknown key is an error naming its path.
    func object(_ value: JSONValue, at place: String, allowed: Set<String>?) throws -> [String: JSONValue] {
      guard case .object(let members) = value else { throw error("'\(place)' must be an object") }
      if let allowed, let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
        throw error("unknown key '\(place).\(unknown)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
      }
      return members
    }

    /// nil when absent or null.
    func string(_ value: JSONValue?, at place: String) throws -> String? {
      switch value {
      case nil, .null?: return nil
      case .string(let s)?: return s
      default: throw error("'\(place)' must be a string")
      }
    }

    /// nil when absent or null.
    func integer(_ value: JSONValue?, at place: String, range: ClosedRange<Int>) throws -> Int? {
      switch value {
      case nil, .null?: return nil
      case .number(let d)?:
        guard let n = Int(exactly: d), range.contains(n) else { throw error("'\(place)' must be an integer in \(range)") }
        return n
      default: throw error("'\(place)' must be an integer in \(range)")
      }
    }
  }
}
