import ArgumentParser
import Evaluation
import Experiments
import FeatureStore
import Foundation
import FunnelCore
import FunnelGRPC
import FunnelServer
import FunnelSecurity
import GRPCCore
import IndexBuilder
import IndexFormat
import Ingest
import Logging
import Ranking
import RedisStore
import ServiceLifecycle
import Serving

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
  @OptionGroup var sealing: SealedOutputOptions
  @OptionGroup var forgotten: TombstoneOptions

  func run() async throws {
    do {
      guard (1...365).contains(days) else { throw FunnelError(.invalidArgument, "--days \(days) must be in 1...365") }
      let untilMs = try IngestData.parseDay(until)
      let (items, _) = try JSONLines.readCatalog(path: data + "/catalog.jsonl")
      let tombstones = try await forgotten.load()
      let events = try JSONLines.readEvents(path: data + "/events.jsonl").0.filter {
        !TombstoneOptions.forgotten($0.userID, in: tombstones)
      }
      let scene = try Eval.scene(self.scene)
      let summary = try await sealing.writing(out) { path in
        try await TrainingReplay(items: items, events: events)
          .write(asOfMs: untilMs - Int64(days) * 86_400_000, untilMs: untilMs, to: path, sample: sample, scene: scene)
      }
      print("wrote \(out): \(summary.queries) customers, \(summary.rows) rows, \(summary.positives) positives; "
            + "candidates held \(summary.recalledBoughtItems) of \(summary.boughtItems) items bought in the window")
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}

/// `funnel export training`: served features joined with what users did next.
struct ExportTraining: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "training",
    abstract: "Training rows: features at serving time (the exposure log) joined with later clicks, carts and purchases.",
    discussion: """
      Reads the exposure log and the event stream from Redis (the servers' --redis). One JSON line per \
      shown item; see Experiments/TrainingRows for the fields.
      """)
  @Option(name: .customLong("redis"), help: "Redis URL of the servers.") var redisURL: String
  @Option(help: "Exposures since this day (YYYY-MM-DD, UTC).") var since: String
  @Option(help: "Attribution window in seconds for events without a request id.") var windowSeconds = 86_400
  @Option(help: "Output JSON lines.") var out: String
  @OptionGroup var sealing: SealedOutputOptions

  func run() async throws {
    do {
      let sinceMs = try IngestData.parseDay(since)
      let (attributed, exposures, events) = try await Self.attributed(redisURL: redisURL, sinceMs: sinceMs,
                                                                      windowMs: Int64(windowSeconds) * 1000)
      let (rows, positives) = try await sealing.writing(out) { path in
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
          throw FunnelError(.invalidArgument, "--out \(out): cannot create the file")
        }
        var rows = 0, positives = 0
        var buffer: [UInt8] = []
        for a in attributed {
          let counts = TrainingRows.append(a, to: &buffer)
          rows += counts.rows
          positives += counts.positives
          if buffer.count > 1 << 20 { try file.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
        }
        try file.write(contentsOf: buffer)
        try file.close()
        return (rows, positives)
      }
      print("wrote \(out): \(exposures) exposures, \(events) events, \(rows) rows, \(positives) with a click, cart or purchase")
    } catch let error as FunnelError {
      throw ValidationError(error.message)
    } catch let error as RedisError {
      throw ValidationError("--redis \(redisURL): \(error)")
    }
  }

  /// The fleet's exposures since `sinceMs` joined with its accepted events (`Attribution`), users
  /// forgotten since left out whatever the log still holds (ForgetUser's tombstones); with the counts
  /// of exposures and events read.
  static func attributed(redisURL: String, sinceMs: Int64, windowMs: Int64) async throws
    -> (attributed: [AttributedExposure], exposures: Int, events: Int) {
    let client = try RedisClient(url: redisURL, timeoutMs: 10_000)
    let stream = try await RedisEventStream.discover(client: client, store: RedisFeatureStore(client: client))
    let exposures = try await RedisExposureLog(client: client, shards: stream.streamKeys.count).exposures(sinceMs: sinceMs)
    let events = try await stream.events(sinceMs: sinceMs)
    let tombstones = try await RedisErasureLog(client: client).tombstones()
    let attributed = Attribution.attribute(exposures: exposures.filter { !tombstones.contains(UserIDDigest.hex($0.userID)) },
                                           events: events, windowMs: windowMs)
    return (attributed, exposures.count, events.count)
  }
}
