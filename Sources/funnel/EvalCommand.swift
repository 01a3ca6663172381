import ArgumentParser
import Evaluation
import Foundation
import FunnelCore
import IndexBuilder
import Ingest
import Ranking

/// `funnel eval`: a time-split evaluation of the engine against baselines.
struct Eval: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time-split evaluation: HitRate/Recall/NDCG@K, MRR, coverage, novelty against baselines.",
    discussion: "Reads DATA/catalog.jsonl and DATA/events.jsonl (as `funnel ingest` writes them).")
  @Option(help: "Directory written by `funnel ingest`.") var data: String
  @Option(help: "Split date YYYY-MM-DD: before it builds everything, after it is the truth.") var split: String?
  @Option(help: "Instead of --split: each user's last FRACTION of events is their truth (e.g. 0.2).") var holdout: Double?
  @Option(help: "Cut-offs, comma-separated.") var k = "10,20,50"
  @Option(help: "Evaluate this many customers drawn with a fixed seed (default: all).") var sample: Int?
  @Option(help: "A trained ranking model for the 'recall + ranking' row (default: the built-in model).") var model: String?
  @Option(help: "Also write the report as JSON here.") var json: String?
  @Option(help: "Scene the engine answers: email (repeat purchases recalled) or home (discovery).") var scene = "email"

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
      let scene = try Self.scene(self.scene)
      let (items, _) = try JSONLines.readCatalog(path: data + "/catalog.jsonl")
      let (events, _) = try JSONLines.readEvents(path: data + "/events.jsonl")
      let ranker = try model.map { try ModelFile.load(path: $0, version: Self.registryVersion($0)) } ?? BuiltinModel.model
      let report = try await Evaluator(items: items, events: events).run(
        split: protocolSplit, cutoffs: cutoffs,
        models: [("engine: recall only", Evaluator.recallOnlyModel), ("engine: recall + ranking (\(ranker.version))", ranker)],
        sample: sample, scene: scene, progress: { print($0) })
      print(EvaluationTable.render(report))
      if let json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: json))
      }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}

extension Eval {
  /// A scene named on the command line. Throws `.invalidArgument` naming the value.
  static func scene(_ name: String) throws -> Scene {
    guard let scene = Scene(rawValue: name), scene != .search else {
      throw FunnelError(.invalidArgument, "--scene '\(name)' must be one of home, item_page, cart, email")
    }
    return scene
  }

  /// `NAME/VERSION` for a model file inside a registry (`…/NAME/VERSION/model.txt`), else nil.
  static func registryVersion(_ path: String) -> String? {
    let parts = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
    guard parts.count >= 3, parts[parts.count - 1].hasPrefix("model.") else { return nil }
    return parts[parts.count - 3] + "/" + parts[parts.count - 2]
  }
}
