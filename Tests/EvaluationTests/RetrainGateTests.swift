import Evaluation
import Experiments
import FeatureStore
import Foundation
import FunnelCore
import Ranking
import Testing

/// The offline gate of retraining: NDCG on held-out served lists, a model trained on shuffled labels
/// refused, drift measured, the time split and the training file.
@Suite struct RetrainGateTests {
  static let names = ["signal", "noise_a", "noise_b", "noise_c", "noise_d"]

  /// `count` lists of 10 items at increasing times; an item is clicked with probability rising
  /// steeply with `signal`; the noise inputs are independent of the outcome.
  static func lists(_ count: Int, seed: UInt64, shift: Float = 0) -> [LabelledList] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { n in
      var features: [[Float]] = []
      var labels: [Int] = []
      for _ in 0..<10 {
        let row = names.map { _ in Float(rng.unit()) + shift }
        let p = 0.02 + 0.5 * Double(max(0, row[0] - shift)) * Double(max(0, row[0] - shift))
        labels.append(rng.unit() < p ? (rng.unit() < 0.3 ? 3 : 1) : 0)
        features.append(row)
      }
      return LabelledList(requestID: "r\(seed)-\(n)", timestampMs: Int64(n) * 1_000, items: (0..<10).map { "i\($0)" },
                          featureNames: names, features: features, labels: labels)
    }
  }

  /// Least squares of the labels on the inputs (normal equations, Gaussian elimination): the
  /// simplest trainer, enough to tell a model that learnt something from one that could not.
  static func fit(_ lists: [LabelledList], shuffled: Bool, version: String) throws -> LinearModel {
    var labels = lists.flatMap(\.labels).map(Double.init)
    if shuffled {
      var rng = SplitMix64(seed: 9)
      labels.shuffle(using: &rng)
    }
    let rows = lists.flatMap(\.features).map { [1.0] + $0.map(Double.init) }
    let d = rows[0].count
    var a = [[Double]](repeating: [Double](repeating: 0, count: d + 1), count: d)
    for (row, y) in zip(rows, labels) {
      for i in 0..<d {
        for j in 0..<d { a[i][j] += row[i] * row[j] }
        a[i][d] += row[i] * y
      }
    }
    for col in 0..<d {
      let pivot = (col..<d).max { abs(a[$0][col]) < abs(a[$1][col]) }!
      a.swapAt(col, pivot)
      for r in 0..<d where r != col {
        let f = a[r][col] / a[col][col]
        for c in col...d { a[r][c] -= f * a[col][c] }
      }
    }
    let w = (0..<d).map { a[$0][d] / a[$0][$0] }
    return try LinearModel(version: version, schema: FeatureSchema(names), weights: w.dropFirst().map(Float.init), bias: Float(w[0]), logistic: false)
  }

  @Test func ndcgMatchesAHandComputation() {
    // Labels 0,1,0,3 in ranked order, K 3: DCG = (2^1-1)/log2(3); ideal 3,1,0: 7/1 + 1/log2(3).
    let expected = (1 / log2(3.0)) / (7 + 1 / log2(3.0))
    #expect(abs(RetrainGate.ndcg([0, 1, 0, 3], k: 3) - expected) < 1e-12)
    #expect(RetrainGate.ndcg([3, 1, 0], k: 3) == 1)
    #expect(RetrainGate.ndcg([0, 0], k: 3) == 0)
    // Re-ranking by a model: the item with the highest label scored first gives 1.
    let list = LabelledList(requestID: "r", timestampMs: 0, items: ["a", "b", "c"], featureNames: ["signal"],
                            features: [[0.1], [0.9], [0.5]], labels: [0, 3, 1])
    let model = try! LinearModel(version: "m", schema: FeatureSchema(["signal"]), weights: [1], bias: 0, logistic: false)
    #expect(RetrainGate.meanNDCG([list], k: 3) { RetrainGate.scores(model, $0) } == 1)
    // Clicks at served ranks 1 and 4 with examination (1/rank)^1: gains 1 and 4, so an order putting
    // the rank-4 click first beats the served one.
    let biased = LabelledList(requestID: "b", timestampMs: 0, items: ["a", "b", "c", "d"], featureNames: ["signal"],
                              features: [[0.4], [0.3], [0.2], [0.9]], labels: [1, 0, 0, 1])
    let ideal = 4 / log2(2.0) + 1 / log2(3.0)
    #expect(abs(RetrainGate.meanNDCG([biased], k: 4, positionBias: 1) { l in l.items.indices.map { -Float($0) } }
                - (1 + 4 / log2(5.0)) / ideal) < 1e-12)
    #expect(abs(RetrainGate.meanNDCG([biased], k: 4, positionBias: 1) { RetrainGate.scores(model, $0) } - 1) < 1e-12)
    #expect(abs(RetrainGate.meanNDCG([biased], k: 4, positionBias: 0) { l in l.items.indices.map { -Float($0) } }
                - (1 + 1 / log2(5.0)) / (1 + 1 / log2(3.0))) < 1e-12, "uncorrected, both clicks weigh the same")
    // Served order (a, b, c) is what users saw.
    #expect(abs(RetrainGate.meanNDCG([list], k: 3) { l in l.items.indices.map { -Float($0) } }
                - RetrainGate.ndcg([0, 3, 1], k: 3)) < 1e-12)
  }

  @Test func aModelTrainedOnShuffledLabelsIsRefusedAndAGoodOnePasses() throws {
    let (train, heldOut) = LabelledList.splitByTime(Self.lists(3_000, seed: 1), heldOut: 0.2)
    let serving = try Self.fit(train, shuffled: false, version: "ranker/1")
    let shuffled = try Self.fit(train, shuffled: true, version: "ranker/2")
    let gate = RetrainGate(k: 10, margin: 0.01, minLists: 50)
    let refused = gate.evaluate(candidate: shuffled, serving: serving, heldOut: heldOut)
    #expect(!refused.passed, "\(refused.reason)")
    #expect(refused.candidateNDCG < refused.servingNDCG - 0.05, "\(refused.reason)")
    #expect(refused.reason.hasPrefix("refused"))
    // A model trained on the true labels of other lists holds the serving model's level.
    let retrained = try Self.fit(Self.lists(3_000, seed: 2), shuffled: false, version: "ranker/3")
    let passed = gate.evaluate(candidate: retrained, serving: serving, heldOut: heldOut)
    #expect(passed.passed, "\(passed.reason)")
    #expect(passed.lists == heldOut.filter(\.hasPositive).count)
    // Too few lists to judge is a refusal, not a pass.
    #expect(!gate.evaluate(candidate: retrained, serving: serving, heldOut: Array(heldOut.prefix(10))).passed)
  }

  @Test func theSplitIsByTimeAndTheTrainingFileKeepsTheLabels() throws {
    let lists = Self.lists(100, seed: 3).shuffled()
    let (train, heldOut) = LabelledList.splitByTime(lists, heldOut: 0.25)
    #expect(train.count == 75 && heldOut.count == 25)
    #expect(train.map(\.timestampMs).max()! < heldOut.map(\.timestampMs).min()!, "every held-out answer is after every trained one")
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString).csv").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let plain = try LabelledList.writeCSV(train, names: ["noise_a", "signal", "absent"], to: path)
    let text = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    #expect(text[0] == "query,label,item_id,position,noise_a,signal,absent")
    let kept = train.filter(\.hasPositive)
    #expect(plain.lists == kept.count && plain.rows == kept.count * 10 && text.count == plain.rows + 1)
    let first = text[1].split(separator: ",", omittingEmptySubsequences: false)
    #expect(first[0] == Substring(kept[0].requestID) && first[1] == Substring("\(kept[0].labels[0])"))
    #expect(first[3] == "0" && text[2].split(separator: ",")[3] == "1", "the served rank, from 0")
    #expect(Float(first[4]) == kept[0].features[0][1] && Float(first[5]) == kept[0].features[0][0] && first[6] == "")
    _ = try LabelledList.writeCSV(train, names: ["signal"], to: path, shuffleSeed: 7)
    let shuffled = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
      .map { Int($0.split(separator: ",")[1])! }
    #expect(shuffled.sorted() == kept.flatMap(\.labels).sorted(), "shuffling permutes, never invents")
    #expect(shuffled != kept.flatMap(\.labels))
  }

  @Test func driftIsZeroForOneDistributionAndMajorForAShift() {
    let before = FeatureDrift.rows(of: Self.lists(500, seed: 4), names: Self.names)
    let same = FeatureDrift.rows(of: Self.lists(500, seed: 5), names: Self.names)
    let moved = FeatureDrift.rows(of: Self.lists(500, seed: 6, shift: 0.5), names: Self.names)
    #expect(FeatureDrift.report(names: Self.names, reference: before, sample: same).allSatisfy { $0.level == "stable" })
    let shifted = FeatureDrift.report(names: Self.names, reference: before, sample: moved)
    #expect(shifted.allSatisfy { $0.level == "major" }, "\(shifted.map(\.psi))")
    // Missing values are a bin of their own: an input that stops being logged drifts.
    let missing = before.map { row in [Float.nan] + row.dropFirst() }
    let gone = FeatureDrift.report(names: Self.names, reference: before, sample: missing)
    #expect(gone[0].feature == "signal" && gone[0].level == "major" && gone[0].missingAfter == 1)
  }

  @Test func listsComeFromAttributedExposuresWithGradedLabels() {
    let exposure = Exposure(requestID: "r", userID: "u", scene: "home", arm: "default", modelVersion: "m", timestampMs: 5,
                            items: ["a", "b", "c", "d"], featureNames: ["x"], features: [[1], [2], [3], [4]])
    var outcomes = [ItemOutcome(), ItemOutcome(), ItemOutcome(), ItemOutcome()]
    outcomes[1].clicks = 1
    outcomes[2].clicks = 1
    outcomes[2].carts = 1
    outcomes[3].purchases = 1
    let list = LabelledList(AttributedExposure(exposure: exposure, outcomes: outcomes))
    #expect(list?.labels == [0, 1, 2, 3] && list?.features == [[1], [2], [3], [4]])
    var unlogged = exposure
    unlogged.features = []
    #expect(LabelledList(AttributedExposure(exposure: unlogged, outcomes: outcomes)) == nil)
  }
}
