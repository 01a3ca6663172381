import Distribution
import FeatureStore
import Foundation
import FunnelCore
import Experiments
import FunnelGRPC
import FunnelHTTP
import Indicators
import IndexBuilder
import Logging
import NIOPosix
import MongoStore
import Ranking
import Recall
import RedisStore
import ServiceLifecycle
import Serving
import Tracing

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
    let options = try { var o = options; o.serving.banditScenes = try banditScenes(o.banditScenes); return o }()
    guard AttributeValue.isValidName(options.serving.searchNewnessAttribute) else {
      throw FunnelError(.invalidArgument, "serving.searchNewnessAttribute: '\(options.serving.searchNewnessAttribute)' is not an attribute name (a-z, 0-9, _)")
    }
    let clock = ContinuousClock()
    let start = clock.now
    // First: a server that would be less protected than configured stops before it loads anything.
    let security = try await ListenerSecurity.make(options, logger: logger)
    let redis = try await makeRedisClient(options, logger: logger)
    let subQueries = SubQueryResolver(shared: redis.map { RedisBitmapCache(client: $0) })
    // Stores sit behind circuit breakers: after repeated failures calls fail fast for a while, so a
    // dead store costs requests nothing and is not hammered; one trial call probes its return.
    guard options.eventIDMemoryHours > options.eventRetentionHours else {
      throw FunnelError(.invalidArgument, "stores.eventIDMemoryHours (\(options.eventIDMemoryHours)) must be longer than "
                        + "privacy.eventRetentionHours (\(options.eventRetentionHours)): a replay of the stream would count forgotten ids again")
    }
    let limits = options.redisLimits
    let redisStore = redis.map { RedisFeatureStore(client: $0, limits: limits) }
    let redisBreaker = CircuitBreaker(name: "redis", now: ServingEngine.wallClockMs)
    let realtime = redisStore.map { GuardedRealtimeStore($0, breaker: redisBreaker) }
    // With Redis, Track appends to the event stream; the updater (here or in `funnel consume`)
    // applies it to the real-time store.
    let eventStream = redis.flatMap { client in
      redisStore.map {
        RedisEventStream(client: client, store: $0, shards: options.redisStreamShards, replicaAcks: options.redisReplicaAcks,
                         replicaTimeoutMs: options.redisReplicaTimeoutMs)
      }
    }
    if let eventStream { await announceShards(eventStream, logger: logger) }
    let feedback = try makeFeedback(options, redis: redis, eventStream: eventStream)
    let indicators = try makeIndicators(options, redis: redis)
    let mongoBreaker = CircuitBreaker(name: "mongodb", now: ServingEngine.wallClockMs)
    let offline = try options.mongoURI.map { uri in
      do {
        return MongoFeatureStore(client: try MongoClient(uri: uri), now: ServingEngine.wallClockMs)
      } catch let error as MongoError {
        throw FunnelError(.invalidArgument, "--mongo: \(error.message)")
      }
    }
    let registry = options.modelRegistry.map { ModelRegistrySource(root: $0, name: options.modelName) }
    let model = try await registry?.loadModel() ?? loadModel(options, logger: logger)
    let engine: ServingEngine
    let featureStore: EmbeddedFeatureStore
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    // With a shared Redis, ForgetUser reaches every replica's caches and the tombstones.
    let erasures = try options.redisURL.map { try RedisErasureBroadcast(url: $0, logger: logger) }
    if let erasures { services.append(.init(service: erasures)) }
    let traces = try TraceExport.make(options, logger: logger)
    if let traces { services.append(.init(service: traces.service)) }
    var description: Logger.Metadata
    let shared = try distributionLocation(options)
    if let root = options.indexDirectory {
      let source = IndexDirectorySource(root: root, verifyChecksums: options.verifyIndexChecksums)
      if let shared, let redis {
        await fetchAnnounced(from: shared, into: source, redis: redis, logger: logger)
      }
      let generation = try await source.loadGeneration()
      let replay = try ReplayState(indexDirectory: root, serving: options.serving)
      featureStore = replay.store
      if let settings = replay.settings {
        if let redisStore { await seed(redisStore, with: replay.history, logger: logger) }
        logger.info("replaying a historical data set", metadata: [
          "as_of_ms": "\(settings.asOfMs)", "history_events": "\(replay.history.count)"])
      }
      let (serving, now) = (replay.serving, replay.now)
      var feedback = feedback
      if feedback.history == nil { feedback.history = featureStore }
      let primary: (any EventSink)? = eventStream ?? realtime
      var dependencies = ServingDependencies(generation: generation, generationSource: source,
                             activity: realtime ?? featureStore,
                             events: primary.map { TeeEventSink(primary: $0, mirror: featureStore) } ?? featureStore,
                             model: model, modelSource: registry,
                             storeName: realtime == nil ? "embedded" : "redis", subQueries: subQueries,
                             offlineFeatures: offline.map { GuardedOfflineSource($0, breaker: mongoBreaker) },
                             itemActivity: realtime.map { serving.itemActivity(remote: $0) } ?? featureStore,
                             feedback: feedback, now: now, tracer: traces?.tracer)
      dependencies.erasures = erasures
      dependencies.anonymousCounter = realtime ?? featureStore
      dependencies.indicators = indicators
      dependencies.catalogChanges = redis.map { RedisCatalogSink(feed: RedisCatalogFeed(client: $0)) }
      engine = ServingEngine(dependencies: dependencies, configuration: serving)
      description = ["index_dir": "\(root)", "items": "\(generation.itemCount)"]
    } else {
      let embedded = try EmbeddedDefault(items: options.demoItems, users: options.demoUsers, seed: options.demoSeed,
                                         configuration: options.serving, subQueries: subQueries, model: model,
                                         modelSource: registry, realtime: realtime,
                                         offlineFeatures: offline.map { GuardedOfflineSource($0, breaker: mongoBreaker) },
                                         ingest: eventStream, feedback: feedback, tracer: traces?.tracer, erasures: erasures,
                                         indicators: indicators,
                                         catalogChanges: redis.map { RedisCatalogSink(feed: RedisCatalogFeed(client: $0)) })
      featureStore = embedded.featureStore
      engine = embedded.engine
      if let redisStore { await seed(redisStore, with: embedded.store.events, logger: logger) }
      description = ["items": "\(embedded.store.items.count)", "events": "\(embedded.store.events.count)"]
    }
    erasures?.attach(engine)
    if let offline {
      do {
        if let loaded = try await engine.refreshItemFeatures() {
          logger.info("offline item features loaded from mongodb", metadata: [
            "snapshot": "\(loaded.version)", "items": "\(loaded.items)", "database": "\(offline.database)"])
        }
      } catch {
        logger.warning("mongodb unreachable at start; ranking without offline features until Admin.Reload",
                       metadata: ["error": "\(error)"])
      }
    }
    let indexSource = options.indexDirectory.map { IndexDirectorySource(root: $0, verifyChecksums: options.verifyIndexChecksums) }
    let followerStatus = GenerationFollower.Status()
    if let shared, let indexSource, let redis, let url = options.redisURL {
      // The fleet follows announcements; the directory poll would race it.
      services.append(.init(service: try GenerationFollower(
        engine: engine, redis: redis, url: url, location: shared, source: indexSource,
        replica: options.replicaName ?? EventUpdaterService.defaultConsumerName(), status: followerStatus, logger: logger)))
    }
    if let redis, let url = options.redisURL {
      // Live catalog changes from every replica's UpsertItems and DeleteItems.
      services.append(.init(service: try CatalogFeedFollower(engine: engine, redis: redis, url: url, logger: logger)))
      // Model canaries started by `funnel pipeline retrain`.
      services.append(.init(service: CanaryFollower(engine: engine, redis: redis, logger: logger)))
      if !options.serving.banditScenes.isEmpty, let eventStream {
        // The online channel bandit: one replica learns (under a lease), every replica samples.
        services.append(.init(service: OnlineBandit(
          engine: engine, state: RedisBanditState(client: redis),
          exposures: RedisExposureLog(client: redis, shards: options.redisStreamShards), events: eventStream,
          owner: options.replicaName ?? EventUpdaterService.defaultConsumerName(), logger: logger)))
      }
    }
    let polledIndex = shared == nil ? indexSource : nil
    if polledIndex != nil || registry != nil {
      services.append(.init(service: GenerationWatcher(source: polledIndex, models: registry, engine: engine,
                                                       interval: .seconds(options.indexPollSeconds), logger: logger)))
    }
    if let url = options.redisURL, registry != nil {
      // Replicas sharing a model registry learn of a new version at once, not at their next poll.
      services.append(.init(service: try ModelBroadcast(engine: engine, url: url, logger: logger)))
    }
    if let url = options.redisURL, options.consumeEvents {
      let generationNow = { @Sendable in engine.generation }
      services.append(.init(service: EventUpdaterService(url: url, retentionHours: options.eventRetentionHours, limits: limits,
                                                         metrics: engine.metrics, category: { id in
        let items = generationNow().items
        return items.doc(for: id).map { items.item($0).category }
      }, logger: logger)))
    }
    services.append(.init(service: ExposureWriter(engine: engine, logger: logger)))
    let grpc = FunnelGRPCServer(host: options.host, port: options.port, engine: engine, logger: logger,
                                version: version, transport: options.transport, eventLoopThreads: options.eventLoopThreads,
                                loopTickBudgetMicros: options.loopTickBudgetMicros,
                                flushDelayMicros: options.flushDelayMicros, limits: options.limits,
                                plane: .api, tls: security.tls, authenticator: security.authenticator,
                                statistics: { featureStore.counts() })
    services.insert(.init(service: grpc), at: 0)
    // The Admin service on a listener of its own (loopback by default), on NIO's shared loops:
    // operators' calls never share a listener, its limits or its loops with storefront traffic.
    let auditLog: AuditLogWriter
    do { auditLog = try AuditLogWriter(path: options.auditFile, logger: Logger(label: "funnel.audit")) } catch {
      throw FunnelError(.invalidArgument, "\(error)")
    }
    let authenticator = security.authenticator
    let audit = AdminAudit(identify: { metadata in
      let caller = await authenticator.identify(authorization: metadata[stringValues: "authorization"].first { _ in true },
                                                apiKey: metadata[stringValues: "x-api-key"].first { _ in true })
      return (caller?.name ?? "anonymous", caller?.kind.rawValue ?? "none")
    }, record: { auditLog.record($0) })
    let admin = options.adminPort < 0 ? nil : FunnelGRPCServer(
      host: options.adminHost, port: options.adminPort, engine: engine, logger: logger, version: version,
      transport: options.transport, eventLoopThreads: 0, plane: .admin, tls: security.tls,
      authenticator: security.authenticator, audit: audit, statistics: { featureStore.counts() })
    if let admin { services.insert(.init(service: admin), at: 1) }
    if security.tls != nil || security.authenticator.jwt != nil {
      services.append(.init(service: SecurityReloader(tls: security.tls, jwt: security.authenticator.jwt,
                                                      interval: .seconds(options.securityReloadSeconds), logger: logger)))
    }
    // Ready while serving (not draining before shutdown); an open store circuit is shown, not
    // counted against readiness: answers are then degraded, and every replica shares the store.
    let stores = [(redis != nil, redisBreaker), (offline != nil, mongoBreaker)].filter(\.0).map(\.1)
    let readiness: @Sendable () -> HTTPReadiness = {
      var checks = HTTPReadiness(engine: engine).checks + followerStatus.checks(serving: engine.generation.version)
      for breaker in stores { checks.append(("store.\(breaker.name)", breaker.stateName)) }
      return HTTPReadiness(ready: grpc.health.status(of: "") == .serving, checks: checks)
    }
    grpc.registerLoadMetrics(in: engine.metrics)
    // After the listener in the list, so it stops first (services stop in reverse order) and never
    // queues on loops that have shut down.
    services.append(.init(service: EventLoopLagProbe(group: grpc.eventLoops, metrics: engine.metrics)))
    ProcessMetrics.register(in: engine.metrics, engine: engine, breakers: stores)
    if let redis { ProcessMetrics.register(in: engine.metrics, redis: redis) }
    let http = options.httpPort < 0 ? nil : HTTPListener(host: options.host, port: options.httpPort, engine: engine, logger: logger,
                                                         corsOrigins: options.corsOrigins.split(separator: ",").map {
                                                           $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                                                         readiness: readiness, tls: security.tls,
                                                         authenticator: security.authenticator)
    if let http { services.append(.init(service: http)) }
    let dashboard = try makeDashboard(options, engine: engine, redis: redis, security: security,
                                      stores: { Dictionary(uniqueKeysWithValues: stores.map { ($0.name, $0.stateName) }) }, logger: logger)
    services += dashboard.services
    description["model"] = "\(engine.ranker.model.version)"
    // Last, so the group signals it first: unready, then the other services stop.
    if options.shutdownDelayMs > 0 {
      services.append(.init(service: ShutdownDelay(delay: .milliseconds(options.shutdownDelayMs), logger: logger) {
        grpc.health.shutDown()
      }))
    }
    let group = ServiceGroup(configuration: .init(
      services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    let startup = description
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      tasks.addTask {
        var description = startup
        let port = try await grpc.listeningPort()
        description["address"] = "\(options.host):\(port)"
        if let http { description["http"] = "\(options.host):\(try await http.listeningPort())" }
        if let admin { description["admin"] = "\(options.adminHost):\(try await admin.listeningPort())" }
        if let listener = dashboard.listener {
          description["dashboard"] = "http\(security.tls == nil ? "" : "s")://\(options.adminHost):\(try await listener.listeningPort())/dashboard"
        }
        description["tls"] = "\(security.tls != nil)"
        description["auth"] = "\(security.authenticator.isEnabled)"
        if !feedback.plan.experiments.isEmpty { description["experiments"] = "\(feedback.plan.experiments.map(\.name))" }
        description["store"] = realtime == nil ? "embedded" : "redis"
        description["index"] = "\(engine.generation.version)"
        description["startup"] = "\(clock.now - start)"
        logger.info("funnel serving", metadata: description)
        onListening(port)
      }
      try await tasks.waitForAll()
    }
    logger.info("funnel stopped")
  }

  /// The scenes of `serving.banditScenes` (comma-separated raw values); throws naming an unknown one.
  static func banditScenes(_ text: String) throws -> Set<Scene> {
    var scenes: Set<Scene> = []
    for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
      guard let scene = Scene(rawValue: name) else {
        throw FunnelError.invalidArgument(field: "serving.banditScenes", "unknown scene '\(name)' (known: "
                                          + Scene.allCases.map(\.rawValue).joined(separator: ", ") + ")")
      }
      scenes.insert(scene)
    }
    return scenes
  }

  /// Experiments (with their arms' models loaded now: a bad file stops the start), and the exposure
  /// log: Redis when configured (shared by replicas), else in memory.
  static func makeFeedback(_ options: ServerOptions, redis: RedisClient?, eventStream: RedisEventStream?) throws -> FeedbackSettings {
    var feedback = FeedbackSettings()
    feedback.plan = try ExperimentPlan(experiments: options.experiments)
    for e in options.experiments {
      for arm in e.arms {
        guard let path = arm.modelPath else { continue }
        do {
          feedback.armModels["\(e.name):\(arm.name)"] = try ModelFile.load(path: path)
        } catch let error as RankingError {
          throw FunnelError(.invalidArgument, "experiment \(e.name) arm \(arm.name): model: \(error.message)")
        }
      }
    }
    feedback.exposureLog = redis.map {
      RedisExposureLog(client: $0, shards: options.redisStreamShards, retentionMs: Int64(options.exposureRetentionHours) * 3_600_000)
    }
      ?? MemoryExposureLog()
    feedback.history = eventStream
    return feedback
  }

  /// The dashboard's feeds: the order ledger and answer directory in Redis when configured (shared
  /// by replicas), else in process; the currency rates of `dashboard.currency` / `dashboard.rates`.
  static func makeIndicators(_ options: ServerOptions, redis: RedisClient?) throws -> LiveIndicators {
    var rates: [String: Double] = [:]
    for pair in options.dashboardRates.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !pair.isEmpty {
      let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, parts[0].count == 3, parts[0].allSatisfy({ $0.isUppercase && $0.isASCII }),
            let rate = Double(parts[1]), rate.isFinite, rate > 0 else {
        throw FunnelError(.invalidArgument, "dashboard.rates: '\(pair)' is not CODE=RATE (EUR=0.86)")
      }
      rates[parts[0]] = rate
    }
    let currency = options.dashboardCurrency.uppercased()
    guard currency.isEmpty || (currency.count == 3 && currency.allSatisfy({ $0.isUppercase && $0.isASCII })) else {
      throw FunnelError(.invalidArgument, "dashboard.currency: '\(options.dashboardCurrency)' is not an ISO 4217 code")
    }
    let ledger: any OrderLedger = redis.map { RedisOrderLedger(client: $0) } ?? MemoryOrderLedger()
    return LiveIndicators(ledger: ledger, rates: CurrencyRates(reporting: currency, rates: rates),
                          directory: redis.map { RedisAnswerDirectory(client: $0) })
  }

  /// The dashboard's services: the indicator service (rollups in Redis when configured, else in
  /// process), the alarm webhooks, and the dashboard listener on the admin host (unless
  /// `server.dashboardPort` is -1).
  static func makeDashboard(_ options: ServerOptions, engine: ServingEngine, redis: RedisClient?, security: ListenerSecurity,
                            stores: @escaping @Sendable () -> [String: String], logger: Logger)
    throws -> (services: [ServiceGroupConfiguration.ServiceConfiguration], listener: DashboardListener?)
  {
    let store: any RollupStore = redis.map { RedisRollupStore(client: $0) } ?? MemoryRollupStore(now: { engine.nowMs })
    let urls = options.alarmWebhooks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    for url in urls where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
      throw FunnelError(.invalidArgument, "dashboard.webhooks: '\(url)' is not an http(s) URL")
    }
    var secret: [UInt8]?
    if !options.alarmWebhookSecretFile.isEmpty {
      guard let data = FileManager.default.contents(atPath: options.alarmWebhookSecretFile), !data.isEmpty else {
        throw FunnelError(.invalidArgument, "dashboard.webhookSecretFile: cannot read \(options.alarmWebhookSecretFile)")
      }
      secret = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }
    let notifier = urls.isEmpty ? nil : WebhookNotifier(urls: urls, secret: secret, logger: logger)
    let feed = DashboardFeed()
    let replica = EventUpdaterService.defaultConsumerName()
    let service = IndicatorService(engine: engine, store: store, alarms: options.alarms, notifier: notifier, feed: feed,
                                   health: ReplicaHealthBoard(redis: redis), leadership: AlarmLeadership(redis: redis, replica: replica),
                                   currency: engine.indicators.rates.reporting,
                                   replica: replica, stores: stores, logger: logger)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: service)]
    if let notifier { services.append(.init(service: notifier)) }
    var listener: DashboardListener?
    if options.dashboardPort >= 0 {
      let chart = FileManager.default.contents(atPath: options.dashboardChartLibrary).map { Array($0) }
      if chart == nil {
        logger.warning("Chart.js not found; the dashboard shows tiles and tables without charts",
                       metadata: ["path": "\(options.dashboardChartLibrary)", "fix": "apt-get install libjs-chart.js"])
      }
      listener = DashboardListener(host: options.adminHost, port: options.dashboardPort, feed: feed,
                                   view: { try await service.viewJSON() }, alarms: { await service.alarmsJSON() },
                                   chartLibrary: chart, tls: security.tls, authenticator: security.authenticator, logger: logger)
      services.append(.init(service: listener!))
    }
    return (services, listener)
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
      "cascade": "\(cascadeDescription(model, options.serving.modelCascade))",
    ])
    return model
  }

  /// How `model` ranks under `cascade`, for the start-up log: "off", the two phases, or why a
  /// configured cascade does not apply (a model that is not a tree ensemble, or has too few trees).
  static func cascadeDescription(_ model: any ScoringModel, _ cascade: ModelCascade) -> String {
    guard cascade.firstPhaseTrees > 0 else { return "off" }
    guard let trees = (model as? TreeEnsemble)?.treeCount else { return "off (serving.firstPhaseTrees needs a tree ensemble)" }
    guard cascade.firstPhaseTrees < trees else {
      return "off (serving.firstPhaseTrees \(cascade.firstPhaseTrees) is not below the model's \(trees) trees)"
    }
    return "first \(cascade.firstPhaseTrees) of \(trees) trees over every candidate, the model over the best \(cascade.rerankCount)"
  }

  /// The Redis client of `--redis`, shared by the real-time feature store and the filter sub-query
  /// cache. Redis being down at start is a warning, not an error: requests degrade (no real-time
  /// history, no shared cache) and recover when it returns.
  static func makeRedisClient(_ options: ServerOptions, logger: Logger) async throws -> RedisClient? {
    guard let url = options.redisURL else { return nil }
    let client: RedisClient
    do {
      client = try RedisClient(url: url, timeoutMs: 100)
    } catch let error as RedisError {
      throw FunnelError(.invalidArgument, "--redis: \(error.message)")
    }
    do {
      _ = try await client.command(["PING"])
      logger.info("redis connected: real-time user features and the shared filter sub-query cache", metadata: ["redis": "\(RedisDeployment.redacted(url))"])
    } catch {
      logger.warning("redis unreachable at start; requests degrade until it answers", metadata: ["redis": "\(RedisDeployment.redacted(url))", "error": "\(error)"])
    }
    return client
  }

  /// `index.source` parsed; it needs `index.directory` (the local copy) and `stores.redis` (the
  /// announcements).
  static func distributionLocation(_ options: ServerOptions) throws -> GenerationLocation? {
    guard let text = options.indexSource else { return nil }
    guard options.indexDirectory != nil, options.redisURL != nil else {
      throw FunnelError(.invalidArgument, "index.source needs index.directory (the local copy) and stores.redis (the announcements)")
    }
    return try GenerationLocation(text)
  }

  /// At start, fetches and pins the generation announced to the fleet, so a new replica with an
  /// empty directory serves what the others serve. A failure is a warning while the directory
  /// holds a generation to serve meanwhile (loading then fails naming the directory if not).
  static func fetchAnnounced(from location: GenerationLocation, into source: IndexDirectorySource, redis: RedisClient,
                             logger: Logger) async {
    do {
      guard let announced = try await GenerationFollower.announced(redis: redis) else { return }
      _ = try await GenerationFetcher().fetch(version: announced, from: location, into: source.root)
      try await NIOThreadPool.singleton.runIfActive { try source.pin(announced) }
      logger.info("announced index generation fetched", metadata: ["generation": "\(announced)", "from": "\(location)"])
    } catch {
      logger.warning("could not fetch the announced index generation at start", metadata: ["error": "\(error)"])
    }
  }

  /// Records the stream's shard count in Redis for updaters and exports (`funnel consume`, `funnel
  /// export`), warning when another replica announced a different one. Redis down: a warning.
  static func announceShards(_ stream: RedisEventStream, logger: Logger) async {
    do {
      if let announced = try await stream.announcedShards(), announced != stream.streamKeys.count {
        logger.warning("the event stream's shard count differs from the one another replica announced; use one value fleet-wide",
                       metadata: ["configured": "\(stream.streamKeys.count)", "announced": "\(announced)"])
      }
      try await stream.announceShards()
    } catch {
      logger.warning("could not record the event stream's shard count", metadata: ["error": "\(error)"])
    }
  }

  /// Loads the demo history into the real-time store (idempotent by event id: a restart re-sends
  /// and changes nothing), in batches of one pipelined round trip each.
  static func seed(_ realtime: RedisFeatureStore, with events: [BehaviourEvent], logger: Logger) async {
    var accepted = 0
    do {
      for start in stride(from: 0, to: events.count, by: 2_000) {
        accepted += try await realtime.append(Array(events[start..<min(events.count, start + 2_000)])).accepted
      }
      logger.info("demo history loaded into redis", metadata: ["events": "\(events.count)", "new": "\(accepted)"])
    } catch {
      logger.warning("could not load the demo history into redis", metadata: ["error": "\(error)"])
    }
  }
}
