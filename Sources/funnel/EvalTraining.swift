import Evaluation
import Foundation
import FunnelCore
import IndexBuilder
import Ranking
import Serving

/// The training half of `funnel eval --train`, all of it inside the history of the split so the
/// test is never seen: the validation split (`Evaluator.innerSplit`) of the history; ALS and BPR
/// tuned on it by `Training/train_factors.py` (which also retrains the best settings on the whole
/// history); a replay of the validation split through the engine serving the better factorisation's
/// validation-time factors; and a LambdaMART ranker trained on the replay's rows
/// (`Training/train_ranker.py`). Files go under `directory`.
struct EvalTraining {
  let items: [CatalogItem]
  let events: [BehaviourEvent]
  let split: Evaluator.Split
  let trainDays: Int
  let scene: Scene
  /// The engine's setup besides the factors (configuration, offline features).
  let setup: EngineSetup
  let directory: String
  let python: String
  /// `full` or `quick` (`Training/train_factors.py --grid`).
  let grid: String
  /// Replay windows the ranker learns from (1: the validation split only).
  let windows: Int

  struct Result {
    /// The factors the engine serves in the test (the better model's, on the whole history).
    var served: LearnedFactors
    /// (row name, factors on the whole history) of each factorisation, for the baseline rows.
    var baselines: [(String, LearnedFactors)]
    var ranker: any ScoringModel
  }

  func run() async throws -> Result {
    let history = Evaluator(items: items, events: events).partition(split).history
    let inner = Evaluator.innerSplit(split, days: trainDays)
    let (innerHistory, innerFuture, _, _) = Evaluator(items: items, events: history).partition(inner)
    guard !innerHistory.isEmpty, !innerFuture.isEmpty else {
      throw FunnelError(.invalidArgument, "the validation split inside the history is empty (shorten --train-days or use --holdout)")
    }
    let work = directory + "/training"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    try Self.writeInteractions(innerHistory, to: work + "/inner.csv")
    try Self.writeTruth(innerFuture, to: work + "/validation.csv")
    try Self.writeInteractions(history, to: work + "/history.csv")
    let discovery = Evaluator.isDiscovery(scene, setup.serving)
    print("== factors: ALS and BPR tuned on the validation split (\(innerHistory.count) events, truth \(innerFuture.count))")
    try PipelineRetrain.runPython(python: python, script: "Training/train_factors.py", arguments: [
      "--train", work + "/inner.csv", "--validation", work + "/validation.csv", "--full", work + "/history.csv",
      "--out", work + "/factors", "--grid", grid] + (discovery ? ["--exclude-seen"] : []))
    let tuning = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/factors/tuning.json")))
    guard let best = (tuning as? [String: Any])?["best"] as? String else {
      throw FunnelError(.failedPrecondition, "\(work)/factors/tuning.json names no best model")
    }
    let baselines = try ["als", "bpr"].map { name in
      ("\(name.uppercased()) (implicit, tuned)", try LearnedFactors.read(directory: "\(work)/factors/\(name)/full"))
    }
    // Replay windows, each inside the history of the one before (a time split moves back by
    // --train-days each time; a per-user split takes the fraction again), each served factors
    // trained on its own history: more customers to learn from, nothing after any window's cut.
    var lists: [LabelledList] = []
    var (windowEvents, windowSplit) = (history, inner)
    for window in 1...windows {
      let windowHistory = Evaluator(items: items, events: windowEvents).partition(windowSplit).history
      guard !windowHistory.isEmpty else { break }
      let factors: LearnedFactors
      if window == 1 {
        factors = try LearnedFactors.read(directory: "\(work)/factors/\(best)/inner")
      } else {
        let csv = work + "/window\(window).csv"
        try Self.writeInteractions(windowHistory, to: csv)
        try PipelineRetrain.runPython(python: python, script: "Training/train_factors.py", arguments: [
          "--full", csv, "--out", work + "/factors-window\(window)", "--params-from", work + "/factors/tuning.json", "--models", best])
        factors = try LearnedFactors.read(directory: "\(work)/factors-window\(window)/\(best)/full")
      }
      var setup = self.setup
      setup.build.factors = factors
      print("== ranker: replay window \(window) through the engine (serving \(best) factors of its own history)")
      let (windowLists, summary) = try await TrainingReplay(items: items, events: windowEvents)
        .lists(split: windowSplit, scene: scene, newUsers: true, setup: setup)
      print("window \(window): \(summary.queries) customers, \(summary.rows) rows, \(summary.positives) positives "
            + "(\(summary.recalledBoughtItems) of \(summary.boughtItems) bought items recalled)")
      lists += windowLists.map { list in
        var list = list
        list.requestID = "w\(window):" + list.requestID
        return list
      }
      (windowEvents, windowSplit) = (windowHistory, Evaluator.innerSplit(windowSplit, days: trainDays))
    }
    // Windows may know different offline features (a field no item had yet): every name, missing where absent.
    var names: [String] = []
    for list in lists { for name in list.featureNames where !names.contains(name) { names.append(name) } }
    let rows = work + "/replay.csv"
    let written = try LabelledList.writeCSV(lists, names: names, to: rows, positions: false)
    print("training rows \(rows): \(written.lists) lists, \(written.rows) rows")
    let version = directory + "/models/ranker/1"
    try? FileManager.default.removeItem(atPath: version)
    // A replay's held-out customers are few: the best round after 50 trees, not early stopping on noise.
    try PipelineRetrain.runPython(python: python, script: "Training/train_ranker.py",
                                  arguments: ["--rows", rows, "--out", version, "--min-trees", "50"])
    let ranker = try ModelFile.load(path: version + "/model.txt", version: "ranker/1")
    let served = try LearnedFactors.read(directory: "\(work)/factors/\(best)/full")
    return Result(served: served, baselines: baselines, ranker: ranker)
  }

  /// `user,item,weight` with each event's interest weight (events that signal none are left out).
  static func writeInteractions(_ events: [BehaviourEvent], to path: String) throws {
    var out = "user,item,weight\n"
    for e in events where e.kind.interestWeight > 0 {
      out += "\(TrainingReplay.csvField(e.userID)),\(TrainingReplay.csvField(e.itemID)),\(e.kind.interestWeight)\n"
    }
    try write(out, to: path)
  }

  /// `user,item` for each purchase.
  static func writeTruth(_ events: [BehaviourEvent], to path: String) throws {
    var out = "user,item\n"
    for e in events where e.kind == .purchase { out += "\(TrainingReplay.csvField(e.userID)),\(TrainingReplay.csvField(e.itemID))\n" }
    try write(out, to: path)
  }

  static func write(_ text: String, to path: String) throws {
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(path): \(error.localizedDescription)")
    }
  }
}
