import Foundation
import Ranking
import Testing

/// Scores of models trained by the real XGBoost 3.4.1 and LightGBM 4.7.0 must equal the libraries'
/// own predictions on held-out rows with missing values, zeros and categories
/// (fixtures: `Training/make_ranking_fixtures.py`).
@Suite struct TreeEnsembleExactnessTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  /// Rows of features (NaN for empty cells) and the library's prediction per row.
  static func rows(_ name: String) throws -> [([Double], Double)] {
    let text = try String(contentsOf: fixtures.appendingPathComponent(name + ".csv"), encoding: .utf8)
    // Python's csv module ends lines with CRLF, which Swift treats as one Character: split on any newline.
    let rows = text.split(whereSeparator: \.isNewline).dropFirst().map { line in
      let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      return (cells.dropLast().map { $0.isEmpty ? .nan : Double($0)! }, Double(cells.last!)!)
    }
    #expect(rows.count == 200, "\(name): every fixture row is read")
    #expect(rows.contains { $0.0.contains(where: \.isNaN) }, "\(name): the fixture has missing values")
    return rows
  }

  static func data(_ file: String) throws -> Data { try Data(contentsOf: fixtures.appendingPathComponent(file)) }

  @Test(arguments: ["xgb_binary", "xgb_regression", "xgb_ndcg"])
  func xgboostMatchesWithinFloat32Tolerance(name: String) throws {
    let model = try XGBoostModel.load(try Self.data(name + ".json"), version: name)
    #expect(model.treeCount == 30)
    #expect(model.schema.names == (0..<8).map { "f\($0)" })
    for (features, expected) in try Self.rows(name) {
      let got = model.predict(doubles: features)
      #expect(abs(got - expected) <= 1e-5 * abs(expected) + 1e-6, "\(name): \(got) vs \(expected) for \(features)")
    }
  }

  @Test(arguments: ["lgb_binary", "lgb_regression_zero_missing", "lgb_lambdarank"])
  func lightgbmMatchesToDoublePrecision(name: String) throws {
    let model = try LightGBMModel.load(try String(contentsOf: Self.fixtures.appendingPathComponent(name + ".txt"), encoding: .utf8),
                                       version: name)
    #expect(model.treeCount == 30)
    for (features, expected) in try Self.rows(name) {
      let got = model.predict(doubles: features)
      #expect(abs(got - expected) <= 1e-9 * max(abs(expected), 1e-12), "\(name): \(got) vs \(expected) for \(features)")
    }
  }

  /// The packed, blocked scoring loop equals the reference traversal on single-precision inputs.
  @Test(arguments: ["lgb_binary", "lgb_regression_zero_missing", "lgb_lambdarank", "xgb_binary", "xgb_regression", "xgb_ndcg"])
  func matrixScoringEqualsRowPrediction(name: String) throws {
    let model = try ModelFile.load(path: Self.fixtures.appendingPathComponent(name + (name.hasPrefix("lgb") ? ".txt" : ".json")).path)
      as! TreeEnsemble
    let rows = try Self.rows(name)
    var matrix = FeatureMatrix(columns: 8)
    matrix.reset(rows: rows.count)
    for (r, (features, _)) in rows.enumerated() { for c in 0..<8 { matrix[r, c] = Float(features[c]) } }
    var scores = [Float](repeating: 0, count: rows.count)
    model.score(matrix, into: &scores)
    for (r, (features, _)) in rows.enumerated() {
      #expect(scores[r] == Float(model.predict(doubles: features.map { Double(Float($0)) })))
    }
  }

  @Test(arguments: [
    ("{}", "no 'learner'"),
    ("not json", "not valid JSON"),
    ("{\"learner\":{\"gradient_booster\":{\"name\":\"gblinear\"}}}", "gbtree"),
  ])
  func refusesBadXGBoostFiles(text: String, expected: String) {
    let error = #expect(throws: RankingError.self) { try XGBoostModel.load(Data(text.utf8), version: "bad") }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
  }

  @Test func refusesCorruptLightGBMFiles() throws {
    let good = try String(contentsOf: Self.fixtures.appendingPathComponent("lgb_binary.txt"), encoding: .utf8)
    let cases = [
      ("hello", "not a LightGBM text model"),
      (good.replacingOccurrences(of: "objective=binary sigmoid:1", with: "objective=multiclass num_class:3"), "objective"),
      (good.replacingOccurrences(of: "left_child=1 ", with: "left_child=99 "), "out of range"),
      (good.replacingOccurrences(of: "num_leaves=15", with: "num_leaves=16"), "leaf values"),
      (good.replacingOccurrences(of: "split_feature=0 ", with: "split_feature=x "), "split_feature"),
    ]
    for (text, expected) in cases {
      let error = #expect(throws: RankingError.self) { try LightGBMModel.load(text, version: "bad") }
      #expect(error?.message.contains(expected) == true, "\(expected): \(error?.message ?? "")")
    }
  }
}
