import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import NIOPosix
import Logging
import ServiceLifecycle
import Serving

/// Loads the generation to serve from a directory (`funnel serve --index DIR`): the one the file
/// `DIR/CURRENT` names (written by `GenerationFollower` when the fleet is told to serve a
/// generation, newer or older), else the newest complete one. Thread-safe.
public struct IndexDirectorySource: IndexGenerationSource {
  /// The directory holding generations.
  public let root: String
  /// Whether to verify every file's checksum on load (O(size); catches silent corruption).
  public let verifyChecksums: Bool

  /// A source over `root`.
  public init(root: String, verifyChecksums: Bool) {
    self.root = root
    self.verifyChecksums = verifyChecksums
  }

  /// The name of the file pinning the generation to serve.
  public static let pinFile = "CURRENT"

  /// The generation to serve: the pinned one if it is complete, else the newest; nil when none.
  public func wantedVersion() -> String? {
    if let pinned = try? String(contentsOfFile: root + "/" + Self.pinFile, encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines), !pinned.isEmpty, !pinned.contains("/"),
       FileManager.default.fileExists(atPath: root + "/" + pinned + "/manifest.json") {
      return pinned
    }
    return GenerationDirectory.generations(under: root).last
  }

  /// Pins `version` (or unpins with nil), replacing the file in one step.
  public func pin(_ version: String?) throws {
    let path = root + "/" + Self.pinFile
    guard let version else { try? FileManager.default.removeItem(atPath: path); return }
    let temporary = path + ".tmp"
    try Data((version + "\n").utf8).write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, path) == 0 else {
      throw FunnelError(.failedPrecondition, "\(path): cannot be replaced (errno \(errno))")
    }
  }

  /// The wanted generation's path, or a `notFound` error naming the directory.
  public func wantedPath() throws -> String {
    guard let version = wantedVersion() else {
      throw FunnelError(.notFound, "\(root): no index generation (build one with `funnel index build`)")
    }
    return root + "/" + version
  }

  /// Mapping and verifying a large generation takes a while: it runs on NIO's blocking-I/O thread
  /// pool, not on Swift's cooperative pool that serves requests.
  public func loadGeneration() async throws -> IndexGeneration {
    let verify = verifyChecksums
    let source = self
    return try await NIOThreadPool.singleton.runIfActive {
      try IndexGeneration.open(directory: try source.wantedPath(), verifyChecksums: verify)
    }
  }
}

/// Polls an index directory and a model registry, and reloads the engine when a newer generation or
/// model version appears. One that fails to load is logged and skipped until an even newer one
/// appears; the current one keeps serving. A lifecycle `Service`: it stops at graceful shutdown.
public struct GenerationWatcher: Service {
  let source: IndexDirectorySource?
  let models: ModelRegistrySource?
  let engine: ServingEngine
  let interval: Duration
  let logger: Logger

  /// A watcher checking `source` and `models` every `interval`.
  public init(source: IndexDirectorySource?, models: ModelRegistrySource?, engine: ServingEngine, interval: Duration,
              logger: Logger) {
    self.source = source
    self.models = models
    self.engine = engine
    self.interval = interval
    self.logger = logger
  }

  public func run() async throws {
    var failedIndex: String?
    var failedModel: String?
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      try? await Task.sleep(for: interval)
      if let source, let newest = source.wantedVersion(), newest != engine.generation.version, newest != failedIndex {
        do {
          let (previous, current) = try await engine.reload()
          logger.info("index reloaded", metadata: ["previous": "\(previous)", "current": "\(current)"])
        } catch {
          failedIndex = newest
          logger.error("new index generation refused; the previous one keeps serving",
                       metadata: ["generation": "\(newest)", "error": "\(error)"])
        }
      }
      if let models, let newest = models.newestVersion, newest != engine.ranker.model.version, newest != failedModel {
        do {
          let (previous, current) = try await engine.reloadModel()
          logger.info("model reloaded", metadata: ["previous": "\(previous)", "current": "\(current)"])
        } catch {
          failedModel = newest
          logger.error("new model version refused; the previous one keeps serving",
                       metadata: ["model": "\(newest)", "error": "\(error)"])
        }
      }
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif
