import Foundation

/// Loads an XGBoost model saved with `Booster.save_model("m.json")` (XGBoost 1.6+ JSON schema):
/// gbtree, single output, numerical splits; objectives binary:logistic, reg:logistic,
/// reg:squarederror and the rank:* family. Anything else is refused with the reason.
public enum XGBoostModel {
  /// Parses `data` (the JSON file). `version` names the model in answers.
  public static func load(_ data: Data, version: String) throws -> TreeEnsemble {
    let root: [String: Any]
    do {
      guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw RankingError("model \(version): the top level is not a JSON object")
      }
      root = object
    } catch let error as RankingError {
      throw error
    } catch {
      throw RankingError("model \(version): not valid JSON")
    }
    guard let learner = root["learner"] as? [String: Any] else { throw RankingError("model \(version): no 'learner' (not an XGBoost JSON model)") }
    guard let booster = learner["gradient_booster"] as? [String: Any], booster["name"] as? String == "gbtree",
          let model = booster["model"] as? [String: Any], let trees = model["trees"] as? [[String: Any]] else {
      throw RankingError("model \(version): only the gbtree booster is supported")
    }
    let parameters = learner["learner_model_param"] as? [String: Any] ?? [:]
    if let classes = Int(parameters["num_class"] as? String ?? "0"), classes > 1 {
      throw RankingError("model \(version): multi-class models are not supported")
    }
    if let targets = Int(parameters["num_target"] as? String ?? "1"), targets > 1 {
      throw RankingError("model \(version): multi-target models are not supported")
    }
    let objective = (learner["objective"] as? [String: Any])?["name"] as? String ?? ""
    let baseScore = try parseBaseScore(parameters["base_score"], version: version)
    let output: TreeEnsemble.Output
    let baseMargin: Double
    switch objective {
    case "binary:logistic", "reg:logistic":
      guard baseScore > 0, baseScore < 1 else { throw RankingError("model \(version): base_score \(baseScore) is not a probability") }
      output = .sigmoid(scale: 1)
      baseMargin = log(baseScore / (1 - baseScore))
    case "reg:squarederror", "rank:pairwise", "rank:ndcg", "rank:map", "binary:logitraw":
      output = .identity
      baseMargin = baseScore
    default:
      throw RankingError("model \(version): objective '\(objective)' is not supported")
    }
    let featureCount = Int(parameters["num_feature"] as? String ?? "") ?? 0
    var names = learner["feature_names"] as? [String] ?? []
    if names.isEmpty { names = (0..<featureCount).map { "f\($0)" } }

    var nodes: [TreeEnsemble.Node] = []
    var roots: [Int32] = []
    for (t, tree) in trees.enumerated() {
      func ints(_ key: String) throws -> [Int] {
        guard let list = tree[key] as? [Any] else { throw RankingError("model \(version): tree \(t) has no '\(key)'") }
        return list.map { ($0 as? NSNumber)?.intValue ?? Int.min }
      }
      func doubles(_ key: String) throws -> [Double] {
        guard let list = tree[key] as? [Any] else { throw RankingError("model \(version): tree \(t) has no '\(key)'") }
        return list.map { ($0 as? NSNumber)?.doubleValue ?? .nan }
      }
      let left = try ints("left_children"), right = try ints("right_children")
      let features = try ints("split_indices"), conditions = try doubles("split_conditions")
      let defaults = try ints("default_left")
      let types = (try? ints("split_type")) ?? []
      let count = left.count
      guard right.count == count, features.count == count, conditions.count == count, defaults.count == count, count > 0 else {
        throw RankingError("model \(version): tree \(t) has arrays of different lengths")
      }
      if types.contains(where: { $0 != 0 }) {
        throw RankingError("model \(version): tree \(t) has categorical splits, which are not supported for XGBoost models")
      }
      let base = Int32(nodes.count)
      roots.append(base)
      for i in 0..<count {
        if left[i] == -1 {
          // For a leaf, split_conditions holds the leaf value (float32).
          nodes.append(.leaf(Double(Float(conditions[i]))))
        } else {
          guard (0..<count).contains(left[i]), (0..<count).contains(right[i]), features[i] >= 0 else {
            throw RankingError("model \(version): tree \(t) node \(i) is malformed")
          }
          nodes.append(TreeEnsemble.Node(feature: Int32(features[i]), threshold: Double(Float(conditions[i])),
                                         left: base + Int32(left[i]), right: base + Int32(right[i]),
                                         defaultLeft: defaults[i] != 0, missingType: 0, categorical: false, value: 0))
        }
      }
    }
    return try TreeEnsemble(version: version, schema: FeatureSchema(names), semantics: .xgboost, nodes: nodes, roots: roots,
                            baseMargin: baseMargin, output: output)
  }

  /// base_score is a string: "5E-1" (XGBoost 1.x/2.x) or "[5E-1]" (3.x, one value per target).
  private static func parseBaseScore(_ raw: Any?, version: String) throws -> Double {
    guard let text = raw as? String else { return 0.5 }
    let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
    guard let value = Double(trimmed.split(separator: ",").first.map(String.init) ?? trimmed), value.isFinite else {
      throw RankingError("model \(version): base_score '\(text)' is not a number")
    }
    return value
  }
}
