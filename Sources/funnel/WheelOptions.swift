import ArgumentParser
import Foundation

/// What `pipeline retrain` and `pipeline canary` share: the fleet's Redis, its model registry, the
/// attribution window of the served lists, and the clock.
struct WheelOptions: ParsableArguments {
  @Option(name: .customLong("redis"), help: "The fleet's Redis URL (exposure log, events, canary).") var redisURL: String
  @Option(help: "Model registry shared by the replicas (their --models).") var registry: String
  @Option(help: "Model name in the registry.") var name = "ranker"
  @Option(help: "Attribution window in seconds for events without a request id.") var windowSeconds = 86_400
  @Option(help: "Now as Unix ms (default: the clock), for replays on a simulated clock.") var nowMs: Int64?

  /// `--now-ms`, or the wall clock.
  var now: Int64 { nowMs ?? Int64(Date().timeIntervalSince1970 * 1000) }
  /// The attribution window in ms.
  var windowMs: Int64 { Int64(windowSeconds) * 1000 }
}
