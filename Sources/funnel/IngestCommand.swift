import ArgumentParser
import Evaluation
import Foundation
import FunnelCore
import Ingest
import IndexBuilder
import Ranking

/// `funnel ingest`: real data sets into catalog, events, offline features and an index generation.
struct IngestData: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ingest", abstract: "Clean a real data set into Funnel's inputs and build an index.",
    subcommands: [IngestOnlineRetail.self, IngestMovieLens.self])
}

extension IngestData {
  /// What every `funnel ingest` does around its reader: parse `--until`, read and clean the set,
  /// print the report, write the files and the index (`IngestOutput`), then `then` (training) with
  /// the cut-off. A `FunnelError` is printed and exits with status 2.
  static func write(out: String, until: String?, _ read: () throws -> IngestedShop,
                    then: (Int64?) async throws -> Void = { _ in }) async throws {
    do {
      let cutoff = try until.map(parseDay)
      let shop = try read()
      for (rule, rows) in shop.report { print("\(rule.padding(toLength: 34, withPad: " ", startingAt: 0)) \(rows)") }
      let path = try IngestOutput.write(shop, to: out, asOfMs: cutoff)
      print("wrote \(out)/catalog.jsonl, events.jsonl, items.jsonl, users.jsonl, report.json; index \(path)")
      try await then(cutoff)
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }

  /// `YYYY-MM-DD` as Unix ms at 00:00 UTC. Throws `.invalidArgument` naming the value.
  static func parseDay(_ text: String) throws -> Int64 {
    let parts = text.split(separator: "-").compactMap { Int($0) }
    guard parts.count == 3, text.count == 10, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else {
      throw FunnelError(.invalidArgument, "date '\(text)' is not YYYY-MM-DD")
    }
    return OnlineRetail.dayStartMs(year: parts[0], month: parts[1], day: parts[2])
  }
}

struct IngestOnlineRetail: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "online-retail",
    abstract: "Ingest the UCI Online Retail log (docs/real-data.md: what each cleaning rule does).",
    discussion: """
      Writes OUT/catalog.jsonl, OUT/events.jsonl (all dates), OUT/items.jsonl and OUT/users.jsonl (offline \
      features as of --until), OUT/report.json and an index generation under OUT/index built from the events \
      before --until; with --until (unless --no-train) also a ranker trained on a replay of the 30 days \
      before it, under OUT/models.
      """)
  @Option(help: "The CSV (plain or .gz), e.g. ../shared/data/online_retail/online_retail.csv.gz.") var input: String
  @Option(help: "Output directory.") var out: String
  @Option(help: "Build the index and features from events before this date (YYYY-MM-DD; default: all).") var until: String?
  @OptionGroup var training: TrainingOptions

  func run() async throws {
    try await IngestData.write(out: out, until: until) { try OnlineRetail.ingest(path: input) } then: { cutoff in
      try await training.run(out: out, untilMs: cutoff, scene: .email)
    }
  }
}

struct IngestMovieLens: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "movielens",
    abstract: "Ingest MovieLens latest-small (ratings >= 4 are positives, genres are categories, titles and tags are text).",
    discussion: "Writes the same files as `ingest online-retail`. Evaluate with `funnel eval --scene home` (discovery: seen movies are dropped).")
  @Option(help: "The directory with movies.csv, ratings.csv[.gz] and tags.csv.") var input: String
  @Option(help: "Output directory.") var out: String
  @Option(help: "Build the index and features from events before this date (YYYY-MM-DD; default: all).") var until: String?

  func run() async throws {
    try await IngestData.write(out: out, until: until) { try MovieLens.ingest(directory: input) }
  }
}

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

/// `funnel export`: data for training.
struct Export: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write training data.", subcommands: [ExportReplay.self, ExportTraining.self])
}

struct ExportReplay: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract: "Training rows from a replay of the history through the serving pipeline (features as serving computes them).",
    discussion: """
      Features as of UNTIL minus DAYS (everything before builds the index and histories); label 1 for \
      candidates the customer bought between then and UNTIL. Train with Training/train_ranker.py; evaluate \
      with `funnel eval --split UNTIL --model ...`, so no label the model learnt from is after the split.
      """)
  @Option(help: "Directory written by `funnel ingest`.") var data: String
  @Option(help: "End of the label window (YYYY-MM-DD), normally the evaluation split.") var until: String
  @Option(help: "Length of the label window in days.") var days = 30
  @Option(help: "Replay this many customers drawn with a fixed seed (default: all).") var sample: Int?
  @Option(help: "Output CSV: query,label,item_id,features...") var out: String
  @Option(help: "Scene the engine answers (as in `funnel eval`).") var scene = "email"

  func run() async throws {
    do {
      guard (1...365).contains(days) else { throw FunnelError(.invalidArgument, "--days \(days) must be in 1...365") }
      let untilMs = try IngestData.parseDay(until)
      let (items, _) = try JSONLines.readCatalog(path: data + "/catalog.jsonl")
      let (events, _) = try JSONLines.readEvents(path: data + "/events.jsonl")
      let summary = try await TrainingReplay(items: items, events: events)
        .write(asOfMs: untilMs - Int64(days) * 86_400_000, untilMs: untilMs, to: out, sample: sample,
               scene: try Eval.scene(scene))
      print("wrote \(out): \(summary.queries) customers, \(summary.rows) rows, \(summary.positives) positives; "
            + "candidates held \(summary.recalledBoughtItems) of \(summary.boughtItems) items bought in the window")
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
