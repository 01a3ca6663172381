import Foundation
import Ranking
import Testing

/// MLPs exported by PyTorch 2.13 (`torch.onnx.export`) must score what ONNX Runtime 1.30 predicts on
/// the same rows (fixtures: `Training/make_onnx_fixtures.py`), and unsupported or broken files are
/// refused with a message naming the problem.
@Suite struct ONNXModelTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  /// The fixture's rows as a feature matrix, and ONNX Runtime's prediction per row.
  static func rows(_ name: String, columns: Int) throws -> (FeatureMatrix, [Float]) {
    let text = try String(contentsOf: fixtures.appendingPathComponent(name + ".csv"), encoding: .utf8)
    let lines = text.split(whereSeparator: \.isNewline).dropFirst()
    var matrix = FeatureMatrix(columns: columns)
    matrix.reset(rows: lines.count)
    var expected: [Float] = []
    for (r, line) in lines.enumerated() {
      let cells = line.split(separator: ",").map { Float(String($0))! }
      for c in 0..<columns { matrix[r, c] = cells[c] }
      expected.append(cells[columns])
    }
    #expect(lines.count == 200, "\(name): every fixture row is read")
    return (matrix, expected)
  }

  @Test(arguments: [("mlp_batchnorm", 12, 3), ("mlp_two_tower", 12, 2)])
  func scoresEqualONNXRuntime(name: String, columns: Int, layers: Int) throws {
    let model = try ModelFile.load(path: Self.fixtures.appendingPathComponent(name + ".onnx").path)
    let mlp = try #require(model as? MLPModel)
    #expect(mlp.schema.count == columns)
    #expect(mlp.layerCount == layers, "batch norm and bias adds are folded into the dense layers")
    let (matrix, expected) = try Self.rows(name, columns: columns)
    var scores = [Float](repeating: .nan, count: matrix.rows)
    mlp.score(matrix, into: &scores)
    for (got, want) in zip(scores, expected) {
      #expect(abs(got - want) <= 1e-5 * abs(want) + 1e-6, "\(name): \(got) vs ONNX Runtime \(want)")
    }
    #expect(Set(scores).count > 150, "\(name): scores vary with the input")
  }

  @Test func twoTowerSchemaFollowsTheInputs() throws {
    let model = try ModelFile.load(path: Self.fixtures.appendingPathComponent("mlp_two_tower.onnx").path)
    #expect(model.schema.names.prefix(2) == ["user_0", "user_1"])
    #expect(model.schema.names.last == "item_6")
  }

  /// Scoring runs in blocks of `MLPModel.blockRows`: rows at block edges of a batch of several blocks
  /// score the same as each row alone.
  @Test func blockEdgesScoreLikeSingleRows() throws {
    let model = try ModelFile.load(path: Self.fixtures.appendingPathComponent("mlp_batchnorm.onnx").path)
    let (fixture, _) = try Self.rows("mlp_batchnorm", columns: 12)
    let block = MLPModel.blockRows, rows = 2 * block + 7
    var matrix = FeatureMatrix(columns: 12)
    matrix.reset(rows: rows)
    for r in 0..<rows { for c in 0..<12 { matrix[r, c] = fixture[r % fixture.rows, c] } }
    var all = [Float](repeating: 0, count: rows)
    model.score(matrix, into: &all)
    for row in [0, block - 1, block, 2 * block, rows - 1] {
      var one = FeatureMatrix(columns: 12)
      one.reset(rows: 1)
      for c in 0..<12 { one[0, c] = matrix[row, c] }
      var score: [Float] = [0]
      model.score(one, into: &score)
      #expect(abs(score[0] - all[row]) <= 1e-6, "row \(row): \(score[0]) alone vs \(all[row]) in the batch")
    }
  }

  @Test func missingValuesEnterAsZero() throws {
    let model = try ModelFile.load(path: Self.fixtures.appendingPathComponent("mlp_batchnorm.onnx").path)
    var withNaN = FeatureMatrix(columns: 12), withZero = FeatureMatrix(columns: 12)
    withNaN.reset(rows: 1)
    withZero.reset(rows: 1)
    for c in 0..<12 { withNaN[0, c] = c == 4 ? .nan : Float(c) / 7; withZero[0, c] = c == 4 ? 0 : Float(c) / 7 }
    var a: [Float] = [0], b: [Float] = [0]
    model.score(withNaN, into: &a)
    model.score(withZero, into: &b)
    #expect(a == b && a[0].isFinite)
  }

  @Test func refusesUnsupportedOperatorsByName() throws {
    let error = #expect(throws: RankingError.self) {
      try ModelFile.load(path: Self.fixtures.appendingPathComponent("unsupported_op.onnx").path)
    }
    #expect(error?.message.contains("unsupported_op.onnx") == true)
    #expect(error?.message.contains("'Erf'") == true, "\(error?.message ?? "")")
  }

  @Test func refusesTruncatedAndUnlabelledModels() throws {
    let good = try Data(contentsOf: Self.fixtures.appendingPathComponent("mlp_batchnorm.onnx"))
    let truncated = #expect(throws: RankingError.self) { try ONNXModelLoader.load(good.prefix(good.count / 2), version: "cut") }
    #expect(truncated?.message.contains("model cut") == true, "\(truncated?.message ?? "")")
    // Renaming the metadata key leaves a valid ONNX model without a feature list.
    let key = Data(ONNXModelLoader.featuresKey.utf8)
    var unlabelled = good
    let range = try #require(unlabelled.range(of: key))
    unlabelled.replaceSubrange(range, with: Data("funnel.featurex".utf8))
    let error = #expect(throws: RankingError.self) { try ONNXModelLoader.load(unlabelled, version: "nolabel") }
    #expect(error?.message.contains("funnel.features") == true, "\(error?.message ?? "")")
  }
}
