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
    subcommands: [IngestOnlineRetail.self, IngestMovieLens.self, IngestInstacart.self, IngestAmazon.self])
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

struct IngestInstacart: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "instacart",
    abstract: "Ingest the Instacart 2017 sample (basket lines are purchases; department / aisle are categories).",
    discussion: """
      Writes the same files as `ingest online-retail`. The set has no dates: each user's orders are laid on a \
      timeline by the days between them. Evaluate basket completion with `funnel eval --holdout 0.5 --scene cart`.
      """)
  @Option(help: "The directory with orders.csv, order_products__prior.csv, products.csv, aisles.csv, departments.csv.") var input: String
  @Option(help: "Output directory.") var out: String

  func run() async throws {
    try await IngestData.write(out: out, until: nil) { try Instacart.ingest(directory: input) }
  }
}

struct IngestAmazon: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "amazon",
    abstract: "Ingest an Amazon Review Data (2018) category (every rating is a purchase; metadata gives the text).",
    discussion: "Writes the same files as `ingest online-retail`. Evaluate with `funnel eval --holdout 0.2 --scene home`.")
  @Option(help: "The directory with ratings.csv[.gz] and meta.json[.gz].") var input: String
  @Option(help: "Output directory.") var out: String
  @Option(help: "Build the index and features from events before this date (YYYY-MM-DD; default: all).") var until: String?

  func run() async throws {
    try await IngestData.write(out: out, until: until) { try Amazon.ingest(directory: input) }
  }
}
