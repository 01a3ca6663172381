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
  @Option(help: "Hours event ids are remembered (the servers' stores.eventIDMemoryHours).") var eventIDMemoryHours = 168

  func run() async throws {
    let logger = Logger(label: "funnel.consume")
    var generation: IndexGeneration?
    if let index { generation = try await IndexDirectorySource(root: index, verifyChecksums: false).loadGeneration() }
    let loaded = generation
    let metrics = ServingMetrics()
    guard (1...8_760).contains(eventIDMemoryHours) else { throw ValidationError("--event-id-memory-hours: 1...8760") }
    var limits = RedisFeatureStore.Limits()
    limits.eventIDTTLSeconds = eventIDMemoryHours * 3_600
    let updater = EventUpdaterService(url: redisURL, consumer: consumer ?? EventUpdaterService.defaultConsumerName(),
                                      limits: limits, metrics: metrics, category: { id in
      guard let items = loaded?.items, let doc = items.doc(for: id) else { return nil }
      return items.item(doc).category
    }, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [.init(service: updater)],
                                                  gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    func count(_ name: String) -> Int { Int(metrics.value("funnel_updater_\(name)_total")) }
    print("applied \(count("applied")), duplicates \(count("duplicate")), dropped \(count("dropped")), claimed \(count("claimed"))")
  }
}
