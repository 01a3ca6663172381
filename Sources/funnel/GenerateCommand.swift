import ArgumentParser
import DemoCatalog
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat

/// `funnel generate demo`: writes the demo shop as catalog and event JSON lines.
struct Generate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write synthetic data sets.", subcommands: [GenerateDemo.self])
}

struct GenerateDemo: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Write the demo shop (items.jsonl, events.jsonl): realistic titles, Zipfian popularity, sessions.",
    discussion: "Streams: any size runs in memory for a few compact columns per item (10M items: ~1 GB).")
  @Option(help: "Output directory.") var out: String
  @Option(help: "Items.") var items = 5_000
  @Option(help: "Users with a history.") var users = 3_000
  @Option(help: "Random seed.") var seed: UInt64 = 42
  @Option(help: "End of the history, Unix ms (default: now).") var endMs: Int64?
  @Flag(help: "Leave out the 32-dimensional item embeddings (a shop without an embedding model).") var noEmbeddings = false

  func run() async throws {
    var configuration = DemoStore.Configuration.standard(endTimeMs: endMs ?? Int64(Date().timeIntervalSince1970 * 1000))
    configuration.itemCount = items
    configuration.userCount = users
    configuration.seed = seed
    do {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      var catalog = try JSONLinesWriter(path: out + "/items.jsonl")
      var events = try JSONLinesWriter(path: out + "/events.jsonl")
      try DemoStore.stream(configuration, embeddings: !noEmbeddings, item: { try catalog.write($0) },
                           userEvents: { for event in $0 { try events.write(event) } })
      let (itemLines, eventLines) = (catalog.lines, events.lines)
      try catalog.close()
      try events.close()
      print("wrote \(out)/items.jsonl (\(itemLines) items) and \(out)/events.jsonl (\(eventLines) events)")
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
