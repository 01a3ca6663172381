import Ranking
import Testing

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
