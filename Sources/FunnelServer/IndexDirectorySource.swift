import FunnelCore
import IndexBuilder
import IndexFormat
import Logging
import ServiceLifecycle
import Serving

/// Loads the newest complete generation under a directory (`funnel serve --index DIR`).
/// Thread-safe.
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

  /// The newest generation's path, or a `notFound` error naming the directory.
  public func newestPath() throws -> String {
    guard let path = GenerationDirectory.newest(under: root) else {
      throw FunnelError(.notFound, "\(root): no index generation (build one with `funnel index build`)")
    }
    return path
  }

  public func loadGeneration() async throws -> IndexGeneration {
    try IndexGeneration.open(directory: try newestPath(), verifyChecksums: verifyChecksums)
  }
}

/// Polls an index directory and reloads the engine when a newer generation appears. A generation
/// that fails to open is logged and skipped until an even newer one appears; the current one keeps
/// serving. A lifecycle `Service`: it stops at graceful shutdown.
public struct GenerationWatcher: Service {
  let source: IndexDirectorySource
  let engine: ServingEngine
  let interval: Duration
  let logger: Logger

  /// A watcher checking `source` every `interval`.
  public init(source: IndexDirectorySource, engine: ServingEngine, interval: Duration, logger: Logger) {
    self.source = source
    self.engine = engine
    self.interval = interval
    self.logger = logger
  }

  public func run() async throws {
    var failed: String?
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      try? await Task.sleep(for: interval)
      guard let newest = GenerationDirectory.generations(under: source.root).last,
            newest != engine.generation.version, newest != failed else { continue }
      do {
        let (previous, current) = try await engine.reload()
        logger.info("index reloaded", metadata: ["previous": "\(previous)", "current": "\(current)"])
      } catch {
        failed = newest
        logger.error("new index generation refused; the previous one keeps serving",
                     metadata: ["generation": "\(newest)", "error": "\(error)"])
      }
    }
  }
}
