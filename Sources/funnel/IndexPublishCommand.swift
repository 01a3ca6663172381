import ArgumentParser
import Distribution
import Foundation
import FunnelCore
import FunnelServer
import IndexBuilder
import IndexFormat
import RedisStore
import Serving

/// `funnel index publish`: copies a generation to the fleet's shared location and tells every
/// replica (through Redis) to fetch, verify and serve it.
struct IndexPublish: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "publish",
    abstract: "Publish a generation to the shared location and announce it to the fleet through Redis.",
    discussion: """
      The generation (default: the newest under --from) is verified, copied to --to/NAME in one \
      rename, and announced: replicas serving with --index-source fetch it into their own --index \
      directory, verify every file and swap it in. Announcing an older generation rolls the fleet \
      back. With --wait, waits until every live replica reports serving it.
      """)

  @Option(help: "A generation directory, or a directory of generations (its newest is published).") var from: String
  @Option(help: "The shared directory replicas fetch from (served over HTTP, or mounted).") var to: String
  @Option(name: .customLong("redis"), help: "Redis URL the fleet shares (redis://, redis-cluster://, redis-sentinel://).") var redisURL: String
  @Option(help: "Seconds to wait for every live replica to serve it (0: do not wait).") var wait = 0

  func run() async throws {
    do {
      let path = FileManager.default.fileExists(atPath: from + "/manifest.json") ? from : (GenerationDirectory.newest(under: from) ?? "")
      guard !path.isEmpty else { throw FunnelError(.notFound, "\(from) holds no index generation") }
      let redis = try RedisClient(url: redisURL, timeoutMs: 5_000)
      let manifest = try await Self.publish(path, to: to, redis: redis)
      print("published \(manifest.version) (\(manifest.itemCount) items, \(manifest.files.count) files) to \(to) and announced it")
      guard wait > 0 else { return }
      guard try await Self.waitUntilServed(manifest.version, redis: redis, seconds: wait) else { throw ExitCode(1) }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    } catch let error as RedisError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }

  /// Copies the generation at `path` to the shared location `to` and announces it through `redis`.
  static func publish(_ path: String, to: String, redis: RedisClient) async throws -> GenerationManifest {
    let manifest = try GenerationPublisher.publish(generation: path, to: to)
    try await GenerationFollower.announce(manifest.version, redis: redis)
    return manifest
  }

  /// Waits up to `seconds` until every live replica reports serving `version`; prints the outcome.
  static func waitUntilServed(_ version: String, redis: RedisClient, seconds: Int) async throws -> Bool {
    let clock = ContinuousClock()
    let start = clock.now
    while true {
      let served = try await GenerationFollower.served(redis: redis, nowMs: ServingEngine.wallClockMs())
      let behind = served.filter { $0.value != version }
      if !served.isEmpty && behind.isEmpty {
        print("all \(served.count) live replicas serve \(version) after \(clock.now - start)")
        return true
      }
      if clock.now - start >= .seconds(seconds) {
        print("error: after \(seconds) s, \(behind.count) of \(served.count) replicas do not serve \(version): "
              + behind.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        return false
      }
      try await Task.sleep(for: .milliseconds(200))
    }
  }
}
