import Foundation

/// Loads a LightGBM text model (`Booster.save_model("m.txt")`, format v3/v4): numerical splits with
/// missing types None/Zero/NaN and default directions, categorical splits (bitsets), objectives
/// binary (sigmoid), regression and lambdarank. Linear trees and multi-class models are refused.
public enum LightGBMModel {
  /// Parses the text of a model file. `version` names the model in answers.
  public static func load(_ text: String, version: String) throws -> TreeEnsemble {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard lines.first == "tree" else { throw RankingError("model \(version): not a LightGBM text model (first line is not 'tree')") }
    var header: [String: String] = [:]
    var trees: [[String: String]] = []
    var current: [String: String]?
    for line in lines.dropFirst() {
      if line.hasPrefix("Tree=") {
        if let c = current { trees.append(c) }
        current = [:]
        continue
      }
      if line == "end of trees" { break }
      guard let eq = line.firstIndex(of: "=") else { continue }
      let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
      if current != nil { current![key] = value } else { header[key] = value }
    }
    if let c = current { trees.append(c) }
    guard !trees.isEmpty else { throw RankingError("model \(version): no trees") }
    if let classes = header["num_class"], classes != "1" { throw RankingError("model \(version): multi-class models are not supported") }

    let objective = header["objective"] ?? ""
    let output: TreeEnsemble.Output
    switch objective.split(separator: " ").first.map(String.init) ?? "" {
    case "binary":
      let scale = objective.split(separator: " ").first { $0.hasPrefix("sigmoid:") }.flatMap { Double($0.dropFirst(8)) } ?? 1
      output = .sigmoid(scale: scale)
    case "regression", "regression_l1", "huber", "fair", "quantile", "lambdarank", "rank_xendcg":
      output = .identity
    default:
      throw RankingError("model \(version): objective '\(objective)' is not supported")
    }
    guard let maxFeature = header["max_feature_idx"].flatMap(Int.init), maxFeature >= 0 else {
      throw RankingError("model \(version): no max_feature_idx")
    }
    var names = header["feature_names"].map { $0.split(separator: " ").map(String.init) } ?? []
    if names.count != maxFeature + 1 { names = (0...maxFeature).map { "Column_\($0)" } }

    var nodes: [TreeEnsemble.Node] = []
    var roots: [Int32] = []
    var bitsets: [[UInt32]] = []
    for (t, tree) in trees.enumerated() {
      func list<T>(_ key: String, _ parse: (Substring) -> T?) throws -> [T] {
        guard let raw = tree[key] else { throw RankingError("model \(version): tree \(t) has no '\(key)'") }
        return try raw.split(separator: " ").map {
          guard let v = parse($0) else { throw RankingError("model \(version): tree \(t) '\(key)' holds '\($0)'") }
          return v
        }
      }
      if tree["is_linear"] == "1" { throw RankingError("model \(version): linear trees are not supported") }
      guard let leaves = tree["num_leaves"].flatMap(Int.init), leaves >= 1 else {
        throw RankingError("model \(version): tree \(t) has no num_leaves")
      }
      let values = try list("leaf_value") { Double($0) }
      guard values.count == leaves else { throw RankingError("model \(version): tree \(t) has \(values.count) leaf values for \(leaves) leaves") }
      let base = Int32(nodes.count)
      roots.append(base)
      if leaves == 1 {
        nodes.append(.leaf(values[0]))
        continue
      }
      let splits = leaves - 1
      let features = try list("split_feature") { Int32($0) }
      let thresholds = try list("threshold") { Double($0) }
      let decisions = try list("decision_type") { UInt8($0) }
      let left = try list("left_child") { Int32($0) }
      let right = try list("right_child") { Int32($0) }
      guard [features.count, thresholds.count, decisions.count, left.count, right.count].allSatisfy({ $0 == splits }) else {
        throw RankingError("model \(version): tree \(t) has arrays of different lengths")
      }
      let catBase = Int32(bitsets.count)
      if let catCount = tree["num_cat"].flatMap(Int.init), catCount > 0 {
        let boundaries = try list("cat_boundaries") { Int($0) }
        let words = try list("cat_threshold") { UInt32($0) }
        guard boundaries.count == catCount + 1, boundaries.last == words.count,
              zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 <= $1 }) else {
          throw RankingError("model \(version): tree \(t) has inconsistent category sets")
        }
        for c in 0..<catCount { bitsets.append(Array(words[boundaries[c]..<boundaries[c + 1]])) }
      }
      func child(_ c: Int32) throws -> Int32 {
        let index = c >= 0 ? c : Int32(splits) + ~c
        guard index >= 0, index < Int32(splits + leaves) else { throw RankingError("model \(version): tree \(t) child \(c) out of range") }
        return base + index
      }
      for i in 0..<splits {
        let categorical = decisions[i] & 1 == 1
        nodes.append(TreeEnsemble.Node(
          feature: features[i], threshold: categorical ? thresholds[i] + Double(catBase) : thresholds[i],
          left: try child(left[i]), right: try child(right[i]), defaultLeft: decisions[i] & 2 != 0,
          missingType: (decisions[i] >> 2) & 3, categorical: categorical, value: 0))
      }
      for value in values { nodes.append(.leaf(value)) }
    }
    return try TreeEnsemble(version: version, schema: FeatureSchema(names), semantics: .lightgbm, nodes: nodes, roots: roots,
                            baseMargin: 0, output: output, categoryBitsets: bitsets)
  }
}
