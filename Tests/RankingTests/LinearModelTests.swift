import Ranking
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct LinearModelTests {
  @Test func scoresEveryRowAndSkipsMissingValues() throws {
    let model = try LinearModel(version: "t", schema: FeatureSchema(["a", "b"]), weights: [2, -1], bias: 0.5,
                                logistic: false)
    var matrix = FeatureMatrix(columns: 2)
    matrix.reset(rows: 3)
    matrix[0, 0] = 1; matrix[0, 1] = 1      // 0.5 + 2 - 1
    matrix[1, 0] = 3                        // b missing: 0.5 + 6
    var scores = [Float](repeating: -9, count: 3)
    model.score(matrix, into: &scores)
    #expect(scores == [1.5, 6.5, 0.5])
  }

  @Test func logisticOutputIsAProbability() throws {
    let model = try LinearModel(version: "t", schema: FeatureSchema(["a"]), weights: [1], bias: 0, logistic: true)
    var matrix = FeatureMatrix(columns: 1)
    matrix.reset(rows: 2)
    matrix[0, 0] = 0
    matrix[1, 0] = 50
    var scores = [Float](repeating: 0, count: 2)
    model.score(matrix, into: &scores)
    #expect(scores[0] == 0.5)
    #expect(scores[1] > 0.999 && scores[1] <= 1)
  }

  @Test func refusesInconsistentModels() {
    #expect(throws: RankingError.self) {
      try LinearModel(version: "bad", schema: FeatureSchema(["a", "b"]), weights: [1], bias: 0, logistic: false)
    }
    #expect(throws: RankingError.self) {
      try LinearModel(version: "bad", schema: FeatureSchema(["a"]), weights: [.nan], bias: 0, logistic: false)
    }
  }

  @Test func builtinModelMatchesItsSchema() {
    #expect(BuiltinModel.model.weights.count == BuiltinModel.schema.count)
    #expect(BuiltinModel.model.version == "builtin-linear-v2")
  }
}

@Suite struct LinearModelBatchTests {
  /// Rows scored eight at a time give the one-row loop's sums bit for bit, missing values skipped,
  /// at row counts around the batch width.
  @Test(arguments: [false, true])
  func batchedRowsEqualTheRowLoop(logistic: Bool) throws {
    var rng = Lehmer(state: 21)
    let columns = 14
    let weights = (0..<columns).map { _ in Float(Int(rng.next() % 2_001) - 1_000) / 337 }
    let model = try LinearModel(version: "t", schema: FeatureSchema((0..<columns).map { "f\($0)" }), weights: weights,
                                bias: -0.3, logistic: logistic)
    for rows in [0, 1, 7, 8, 9, 16, 23, 1_000] {
      var matrix = FeatureMatrix(columns: columns)
      matrix.reset(rows: rows)
      for r in 0..<rows {
        for c in 0..<columns where rng.next() % 5 != 0 { matrix[r, c] = Float(rng.next() % 100_000) / 999 - 40 }
      }
      var scores = [Float](repeating: .nan, count: rows)
      model.score(matrix, into: &scores)
      for r in 0..<rows {
        var sum: Float = -0.3
        for c in 0..<columns where !matrix[r, c].isNaN { sum += weights[c] * matrix[r, c] }
        let expected = logistic ? 1 / (1 + expf(-sum)) : sum
        #expect(scores[r].bitPattern == expected.bitPattern, "rows \(rows), row \(r)")
      }
    }
  }
}

/// A tiny deterministic generator for test data (this target does not see FunnelCore's).
private struct Lehmer {
  var state: UInt64
  mutating func next() -> UInt64 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return state >> 17
  }
}
