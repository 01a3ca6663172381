import Foundation

/// Loads a ranking model from a file, recognising the format by content: XGBoost JSON (has a
/// `learner`), Funnel linear JSON (`"format": "funnel-linear"`), LightGBM text (starts with `tree`), or
/// an ONNX MLP (`.onnx`, or a protobuf starting with the `ir_version` field).
/// Every failure is a `RankingError` naming the file.
public enum ModelFile {
  /// Loads `path` and, for benchmarks, scores it with tree layout `layout` instead of the one it
  /// chose (`TreeEnsemble.scoring(with:)`); a layout given for another kind of model is an error.
  public static func load(path: String, layout: String?) throws -> any ScoringModel {
    let model = try load(path: path)
    guard let layout else { return model }
    guard let ensemble = model as? TreeEnsemble else {
      throw RankingError("\(path): a tree layout ('\(layout)') applies to tree ensembles only")
    }
    return try ensemble.scoring(with: layout)
  }

  /// Loads `path`; the model's version is `version`, or the file name without extension.
  public static func load(path: String, version: String? = nil) throws -> any ScoringModel {
    let name = version ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw RankingError("\(path): cannot read (\(error.localizedDescription))")
    }
    do {
      if data.starts(with: Array("tree".utf8)) {
        return try LightGBMModel.load(String(decoding: data, as: UTF8.self), version: name)
      }
      if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
        if object["learner"] != nil { return try XGBoostModel.load(data, version: name) }
        if object["format"] as? String == "funnel-linear" { return try LinearModel.load(object, version: name) }
      }
      if path.hasSuffix(".onnx") || data.first == 0x08 { return try ONNXModelLoader.load(data, version: name) }
      throw RankingError("model \(name): not an XGBoost JSON, LightGBM text, ONNX or funnel-linear JSON model")
    } catch let error as RankingError {
      throw RankingError("\(path): \(error.message)")
    }
  }
}

extension LinearModel {
  /// Reads `{"format": "funnel-linear", "features": [...], "weights": [...], "bias": b, "logistic": true}`.
  static func load(_ object: [String: Any], version: String) throws -> LinearModel {
    guard let features = object["features"] as? [String], let weights = object["weights"] as? [NSNumber] else {
      throw RankingError("model \(version): a linear model needs 'features' (strings) and 'weights' (numbers)")
    }
    guard Set(features).count == features.count else { throw RankingError("model \(version): duplicate feature names") }
    let bias = (object["bias"] as? NSNumber)?.floatValue ?? 0
    return try LinearModel(version: version, schema: FeatureSchema(features), weights: weights.map(\.floatValue), bias: bias,
                           logistic: object["logistic"] as? Bool ?? false)
  }
}
