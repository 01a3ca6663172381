import ArgumentParser
import Experiments
import FeatureStore
import Foundation
import FunnelCore
import FunnelGRPC
import FunnelServer
import GRPCCore
import IndexFormat
import Logging
import RedisStore
import ServiceLifecycle
import Serving

/// `funnel consume`: the real-time feature updater as a process of its own.
struct Consume: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Apply the Redis event stream to the real-time features (one consumer of the group).",
    discussion: """
      Run several (on several machines) to share the work: each is a member of the consumer group \
      funnel-updaters; entries a crashed member held for more than 5 s are claimed by another. Serve \
      with --no-consume when the updaters run apart. Stops gracefully on SIGTERM/SIGINT.
      """)
  @Option(name: .customLong("redis"), help: "Redis URL, e.g. redis://127.0.0.1:6379.") var redisURL: String
  @Option(help: "Index directory: names item categories in the business counters (optional).") var index: String?
  @Option(help: "This consumer's name (default HOST-PID).") var consumer: String?

  func run() async throws {
    let logger = Logger(label: "funnel.consume")
    var generation: IndexGeneration?
    if let index { generation = try await IndexDirectorySource(root: index, verifyChecksums: false).loadGeneration() }
    let loaded = generation
    let metrics = ServingMetrics()
    let updater = EventUpdaterService(url: redisURL, consumer: consumer ?? EventUpdaterService.defaultConsumerName(),
                                      metrics: metrics, category: { id in
      guard let items = loaded?.items, let doc = items.doc(for: id) else { return nil }
      return items.item(doc).category
    }, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [.init(service: updater)],
                                                  gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    print("applied \(metrics.updaterApplied.count), duplicates \(metrics.updaterDuplicate.count), "
          + "dropped \(metrics.updaterDropped.count), claimed \(metrics.updaterClaimed.count)")
  }
}

/// `funnel experiments report`.
struct ExperimentsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "experiments", abstract: "A/B experiments.",
                                                  subcommands: [ExperimentsReport.self])
}

struct ExperimentsReport: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Per-arm exposures, CTR, add-to-cart, conversion and revenue per exposure, with 95% intervals and a z-test against control (Admin.ExperimentReport).")
  @OptionGroup var connection: TargetOptions
  @Option(help: "Experiment name (default: all, plus traffic outside experiments).") var experiment = ""
  @Option(help: "Only exposures since this day (YYYY-MM-DD, UTC).") var since: String?

  func run() async throws {
    var request = Funnel_V1_ExperimentReportRequest()
    request.experiment = experiment
    request.sinceMs = try since.map(IngestData.parseDay) ?? 0
    let options = connection.callOptions
    let report = try await connection.withClient {
      try await Funnel_V1_Admin.Client(wrapping: $0).experimentReport(request, options: options)
    }
    if connection.json { return try connection.printJSON(report) }
    func rate(_ p: Funnel_V1_Proportion) -> String {
      let base = String(format: "%.4f [%.4f, %.4f]", p.value, p.ciLow, p.ciHigh)
      return p.tested ? base + String(format: " z=%+.2f p=%.4f", p.z, p.pValue) : base
    }
    for arm in report.arms {
      print("\(arm.experiment.isEmpty ? "(none)" : arm.experiment) / \(arm.arm)\(arm.control ? " (control)" : ""): \(arm.exposures) exposures")
      print("  CTR         \(rate(arm.clickThrough))")
      print("  add-to-cart \(rate(arm.addToCart))")
      print("  conversion  \(rate(arm.conversion))")
      print(String(format: "  revenue/exposure %.4f [%.4f, %.4f]%@  (revenue %.2f)", arm.revenuePerExposure, arm.revenueCiLow,
                   arm.revenueCiHigh, arm.clickThrough.tested ? String(format: " z=%+.2f p=%.4f", arm.revenueZ, arm.revenuePValue) : "", arm.revenue))
    }
    if report.arms.isEmpty { print("no exposures yet") }
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

  func run() async throws {
    do {
      let sinceMs = try IngestData.parseDay(since)
      let client = try RedisClient(url: redisURL, timeoutMs: 10_000)
      let store = RedisFeatureStore(client: client)
      let exposures = try await RedisExposureLog(client: client).exposures(sinceMs: sinceMs)
      let events = try await RedisEventStream(client: client, store: store).events(sinceMs: sinceMs)
      let attributed = Attribution.attribute(exposures: exposures, events: events, windowMs: Int64(windowSeconds) * 1000)
      guard FileManager.default.createFile(atPath: out, contents: nil), let file = FileHandle(forWritingAtPath: out) else {
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
      print("wrote \(out): \(exposures.count) exposures, \(events.count) events, \(rows) rows, \(positives) with a click, cart or purchase")
    } catch let error as FunnelError {
      throw ValidationError(error.message)
    } catch let error as RedisError {
      throw ValidationError("--redis \(redisURL): \(error)")
    }
  }
}
