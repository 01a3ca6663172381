import FeatureStore
import FunnelCore
import FunnelGRPC
import Logging
import Ranking
import Recall
import RedisStore
import ServiceLifecycle
import Serving

/// Wiring for `funnel serve`: builds the stores and the engine from `ServerOptions`, runs the gRPC
/// server (and, with an index directory, the generation watcher) in a `ServiceGroup` that turns
/// SIGTERM/SIGINT into graceful shutdown.
public enum FunnelApplication {
  /// The server's version string.
  public static let version = "0.2.0"

  /// Runs until SIGTERM/SIGINT. Throws `FunnelError` for options it cannot honour (unsupported stores,
  /// a missing or corrupt index). `onListening` is called with the bound port once the server accepts calls.
  public static func serve(_ options: ServerOptions, logger: Logger,
                           onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
    if let mongo = options.mongoURI {
      throw FunnelError(.failedPrecondition,
                        "--mongo \(mongo): MongoDB feature stores are not supported yet; run without --mongo for the embedded stores")
    }
    let clock = ContinuousClock()
    let start = clock.now
    let subQueries = try await makeSubQueryResolver(options, logger: logger)
    let registry = options.modelRegistry.map { ModelRegistrySource(root: $0, name: options.modelName) }
    let model = try await registry?.loadModel() ?? loadModel(options, logger: logger)
    let engine: ServingEngine
    let featureStore: EmbeddedFeatureStore
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    var description: Logger.Metadata
    if let root = options.indexDirectory {
      let source = IndexDirectorySource(root: root, verifyChecksums: options.verifyIndexChecksums)
      let generation = try await source.loadGeneration()
      featureStore = EmbeddedFeatureStore()
      engine = ServingEngine(configuration: options.serving, generation: generation, generationSource: source,
                             activity: featureStore, events: featureStore, model: model, modelSource: registry,
                             storeName: "embedded", subQueries: subQueries)
      description = ["index_dir": "\(root)", "items": "\(generation.itemCount)"]
    } else {
      let embedded = try EmbeddedDefault(items: options.demoItems, users: options.demoUsers, seed: options.demoSeed,
                                         configuration: options.serving, subQueries: subQueries, model: model,
                                         modelSource: registry)
      featureStore = embedded.featureStore
      engine = embedded.engine
      description = ["items": "\(embedded.store.items.count)", "events": "\(embedded.store.events.count)"]
    }
    let indexSource = options.indexDirectory.map { IndexDirectorySource(root: $0, verifyChecksums: options.verifyIndexChecksums) }
    if indexSource != nil || registry != nil {
      services.append(.init(service: GenerationWatcher(source: indexSource, models: registry, engine: engine,
                                                       interval: .seconds(options.indexPollSeconds), logger: logger)))
    }
    description["model"] = "\(engine.ranker.model.version)"
    let grpc = FunnelGRPCServer(host: options.host, port: options.port, engine: engine, logger: logger,
                                version: version, statistics: { featureStore.counts() })
    services.insert(.init(service: grpc), at: 0)
    let group = ServiceGroup(configuration: .init(
      services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    let startup = description
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      tasks.addTask {
        var description = startup
        let port = try await grpc.listeningPort()
        description["address"] = "\(options.host):\(port)"
        description["store"] = "embedded"
        description["index"] = "\(engine.generation.version)"
        description["startup"] = "\(clock.now - start)"
        logger.info("funnel serving", metadata: description)
        onListening(port)
      }
      try await tasks.waitForAll()
    }
    logger.info("funnel stopped")
  }

  /// The ranking model: `--model FILE` (XGBoost JSON, LightGBM text, funnel-linear JSON) or the
  /// built-in one. Model features the pipeline does not compute are scored as missing, and logged.
  static func loadModel(_ options: ServerOptions, logger: Logger) throws -> any ScoringModel {
    guard let path = options.modelPath else { return BuiltinModel.model }
    let model: any ScoringModel
    do {
      model = try ModelFile.load(path: path)
    } catch let error as RankingError {
      throw FunnelError(.invalidArgument, "--model: \(error.message)")
    }
    let unknown = model.schema.names.filter { !CandidateRanker.knows($0) }
    logger.info("ranking model loaded", metadata: [
      "model": "\(model.version)", "features": "\(model.schema.count)",
      "missing_features": "\(unknown.isEmpty ? "none" : unknown.prefix(8).joined(separator: ","))",
    ])
    return model
  }

  /// The filter sub-query resolver: an in-process LRU, and with `--redis` a shared Redis level.
  /// Redis being down at start is a warning, not an error: the cache is an optimisation.
  static func makeSubQueryResolver(_ options: ServerOptions, logger: Logger) async throws -> SubQueryResolver {
    guard let url = options.redisURL else { return SubQueryResolver(shared: nil) }
    let client: RedisClient
    do {
      client = try RedisClient(url: url, timeoutMs: 100)
    } catch let error as RedisError {
      throw FunnelError(.invalidArgument, "--redis: \(error.message)")
    }
    do {
      _ = try await client.command(["PING"])
      logger.info("redis connected: shared filter sub-query cache (real-time features come with the stores issue)",
                  metadata: ["redis": "\(url)"])
    } catch {
      logger.warning("redis unreachable at start; the sub-query cache will retry", metadata: ["redis": "\(url)", "error": "\(error)"])
    }
    return SubQueryResolver(shared: RedisBitmapCache(client: client))
  }
}
