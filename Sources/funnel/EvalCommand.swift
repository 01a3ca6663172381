import ArgumentParser
import Evaluation
import Experiments
import FeatureStore
import Foundation
import FunnelCore
import IndexBuilder
import Ingest
import Ranking

/// `funnel eval`: an evaluation of the engine against baselines, optionally training everything it
/// needs (factors and ranker) on a validation slice inside the history first.
struct Eval: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time or per-user split evaluation: HitRate/Recall/NDCG@K, MRR, coverage, novelty against baselines.",
    discussion: """
      Reads DATA/catalog.jsonl and DATA/events.jsonl (as `funnel ingest` writes them). With --train, first \
      trains on a validation slice inside the history (a time split moves back --train-days; a per-user split \
      takes the same fraction again): ALS and BPR factors (Training/train_factors.py, tuned on that slice), \
      a LambdaMART ranker on a replay of it (Training/train_ranker.py); then evaluates the engine serving the \
      better factors with that ranker, against popularity, ItemCF, repeat purchases and the tuned ALS and BPR \
      retrained on the whole history. --report DIR writes eval.json, report.md and the plots \
      (Training/eval_report.py).
      """)
  @Option(help: "Directory written by `funnel ingest`.") var data: String
  @Option(help: "Split date YYYY-MM-DD: before it builds everything, after it is the truth.") var split: String?
  @Option(help: "Instead of --split: each user's last FRACTION of events is their truth (e.g. 0.2).") var holdout: Double?
  @Option(help: "Cut-offs, comma-separated.") var k = "10,20,50"
  @Option(help: "Evaluate this many customers drawn with a fixed seed (default: all).") var sample: Int?
  @Option(help: "A trained ranking model for the 'recall + ranking' row (default: the built-in model, or the one --train makes).")
  var model: String?
  @Option(help: "Also write the report as JSON here.") var json: String?
  @Option(help: "Scene the engine answers: email (repeat purchases recalled), home (discovery) or cart.") var scene = "email"
  @Flag(help: "Train factors and a ranker on a validation slice inside the history first (see above).") var train = false
  @Option(help: "With --train and --split: days of each replay window (default: as long as the test window, from the split to the last event).")
  var trainDays: Int?
  @Option(help: "Write eval.json, report.md and plots here (with the training work files).") var report: String?
  @Option(help: "A name for the data set in the report.") var name: String?
  @Option(help: "Python with the pinned packages (Training/requirements.txt).") var python = ".venv-training/bin/python"
  @Option(help: "With --train: replay windows the ranker learns from, each inside the history of the one before.")
  var trainWindows = 3
  @Option(help: "With --train: the factor settings tried, full (the tuning grid) or quick (one each, for smoke tests).")
  var factorGrid = "full"
  @Flag(inversion: .prefixedNo, help: "Give the engine offline item and user features (item.*, user.*) computed from the history as of each cut.")
  var offlineFeatures = true
  @Option(help: "The shop's diversity cap: most items of one leaf category in an answer (default: the serving default).")
  var maxPerCategory: Int?
  @Option(help: "A recall quota of the scene, CHANNEL=N (repeatable; channels as in experiment arms, e.g. repeat=200).")
  var quota: [String] = []

  func run() async throws {
    do {
      let cutoffs = k.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard !cutoffs.isEmpty, cutoffs.allSatisfy({ (1...1_000).contains($0) }) else {
        throw FunnelError(.invalidArgument, "--k '\(k)' must be comma-separated cut-offs in 1...1000")
      }
      let protocolSplit: Evaluator.Split
      switch (split, holdout) {
      case (let date?, nil): protocolSplit = .time(try IngestData.parseDay(date))
      case (nil, let fraction?) where fraction > 0 && fraction < 1: protocolSplit = .perUser(fraction: fraction)
      default: throw FunnelError(.invalidArgument, "give either --split YYYY-MM-DD or --holdout FRACTION (0 < FRACTION < 1)")
      }
      guard ["full", "quick"].contains(factorGrid) else { throw FunnelError(.invalidArgument, "--factor-grid '\(factorGrid)' must be full or quick") }
      guard (1...6).contains(trainWindows) else { throw FunnelError(.invalidArgument, "--train-windows \(trainWindows) must be in 1...6") }
      let scene = try Self.scene(self.scene)
      let (items, _) = try JSONLines.readCatalog(path: data + "/catalog.jsonl")
      let (events, _) = try JSONLines.readEvents(path: data + "/events.jsonl")
      let lastMs = events.last?.timestampMs ?? 0
      let testDays: Int
      if case .time(let splitMs) = protocolSplit { testDays = Int((Double(max(0, lastMs - splitMs)) / 86_400_000).rounded(.up)) } else { testDays = 30 }
      let trainDays = self.trainDays ?? max(1, min(365, testDays))
      guard (1...365).contains(trainDays) else { throw FunnelError(.invalidArgument, "--train-days \(trainDays) must be in 1...365") }
      let work = report ?? (data + "/eval")
      var setup = EngineSetup()
      if let maxPerCategory {
        guard (1...1_000).contains(maxPerCategory) else {
          throw FunnelError(.invalidArgument, "--max-per-category \(maxPerCategory) must be in 1...1000")
        }
        setup.serving.maxPerCategory = maxPerCategory
      }
      var overrides: [String: Int] = [:]
      for entry in quota {
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, ExperimentPlan.quotaChannels.contains(parts[0]), let n = Int(parts[1]), (0...5_000).contains(n) else {
          throw FunnelError(.invalidArgument, "--quota '\(entry)' must be CHANNEL=N with a channel of \(ExperimentPlan.quotaChannels.sorted()) and N in 0...5000")
        }
        overrides[parts[0]] = n
      }
      if !overrides.isEmpty { setup.serving.quotas[scene]?.override(with: overrides) }
      if offlineFeatures { setup.offline = { history, asOfMs in Self.offlineFeatures(items: items, history: history, asOfMs: asOfMs) } }
      var baselines: [(String, LearnedFactors)] = []
      var ranker = try model.map { try ModelFile.load(path: $0, version: Self.registryVersion($0)) } ?? BuiltinModel.model
      if train {
        let trained = try await EvalTraining(items: items, events: events, split: protocolSplit, trainDays: trainDays, scene: scene,
                                             setup: setup, directory: work, python: python, grid: factorGrid, windows: trainWindows).run()
        setup.build.factors = trained.served
        baselines = trained.baselines
        if model == nil { ranker = trained.ranker }
      }
      let result = try await Evaluator(items: items, events: events).run(
        split: protocolSplit, cutoffs: cutoffs,
        models: [("engine: recall only", Evaluator.recallOnlyModel), ("engine: recall + ranking (\(ranker.version))", ranker)],
        sample: sample, scene: scene, setup: setup, factorBaselines: baselines, progress: { print($0) })
      print(EvaluationTable.render(result))
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      var named = EvaluationReportFile(dataSet: name ?? URL(fileURLWithPath: data).lastPathComponent, report: result)
      named.servedFactors = setup.build.factors?.model
      for path in [json, report.map { $0 + "/eval.json" }].compactMap({ $0 }) {
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try encoder.encode(named).write(to: URL(fileURLWithPath: path))
      }
      if let report {
        try PipelineRetrain.runPython(python: python, script: "Training/eval_report.py",
                                      arguments: ["--json", report + "/eval.json", "--out", report])
        print("report \(report)/report.md")
      }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}

/// The JSON `funnel eval` writes: the report with the data set's name and what was served.
struct EvaluationReportFile: Codable {
  var dataSet: String
  var report: Evaluator.Report
  var servedFactors: String?
}

extension Eval {
  /// A scene named on the command line. Throws `.invalidArgument` naming the value.
  static func scene(_ name: String) throws -> Scene {
    guard let scene = Scene(rawValue: name), scene != .search else {
      throw FunnelError(.invalidArgument, "--scene '\(name)' must be one of home, item_page, cart, email")
    }
    return scene
  }

  /// The offline features `funnel ingest` writes (`OfflineFeatures`), computed from `history` as of
  /// `asOfMs` and held in process: every numeric item and user field.
  static func offlineFeatures(items: [CatalogItem], history: [BehaviourEvent], asOfMs: Int64) -> InMemoryOfflineFeatures {
    let features = OfflineFeatures(items: items, history: history, asOfMs: asOfMs, userFacts: [:])
    func numbers(_ row: [String: Any]) -> [String: Float] {
      var out: [String: Float] = [:]
      for (key, value) in row where key != "id" {
        if let number = value as? Double { out[key] = Float(number) } else if let number = value as? Int { out[key] = Float(number) }
      }
      return out
    }
    let itemRows = features.itemRows.compactMap { row in (row["id"] as? String).map { ($0, numbers(row)) } }
    let names = Set(itemRows.flatMap(\.1.keys)).sorted()
    let table = ItemFeatureTable(names: names, rows: itemRows.map { id, values in (id, names.map { values[$0] ?? .nan }) },
                                 version: "eval@\(asOfMs)")
    let users = Dictionary(features.userRows.compactMap { row in (row["id"] as? String).map { ($0, numbers(row)) } },
                           uniquingKeysWith: { a, _ in a })
    return InMemoryOfflineFeatures(items: table, users: users)
  }

  /// `NAME/VERSION` for a model file inside a registry (`…/NAME/VERSION/model.txt`), else nil.
  static func registryVersion(_ path: String) -> String? {
    let parts = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
    guard parts.count >= 3, parts[parts.count - 1].hasPrefix("model.") else { return nil }
    return parts[parts.count - 3] + "/" + parts[parts.count - 2]
  }
}
