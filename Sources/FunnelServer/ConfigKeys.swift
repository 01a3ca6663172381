import RedisStore
import Foundation
import GRPCWire
import Logging
import Serving

extension ConfigKey {
  /// Every key of the configuration, in the order `funnel config print` shows them: the one schema
  /// of the file, the environment and the flags (`experiments`, a list, is the file's only other
  /// entry; `ExperimentConfig` reads it). A new setting is one line here and its field.
  public static let all: [ConfigKey] = [
    .string("server.host", \.host),
    .integer("server.port", 0...65_535, \.port),
    .integer("server.httpPort", -1...65_535, \.httpPort),
    .string("server.corsOrigins", \.corsOrigins),
    .string("server.adminHost", \.adminHost),
    .integer("server.adminPort", -1...65_535, \.adminPort),
    .integer("server.dashboardPort", -1...65_535, \.dashboardPort),
    .boolean("server.insecure", \.insecure),
    .string("tls.certificate", \.tlsCertificate),
    .string("tls.key", \.tlsKey),
    .string("tls.clientCA", \.tlsClientCA),
    .string("tls.clientSubjects", \.tlsClientSubjects),
    .boolean("tls.allowTLS12", \.tlsAllow12),
    .integer("security.reloadSeconds", 1...86_400, \.securityReloadSeconds),
    .integer("server.shutdownDelayMs", 0...600_000, \.shutdownDelayMs),
    .string("auth.apiKeys", \.apiKeys),
    .string("auth.jwksFile", \.jwksFile),
    .string("auth.issuer", \.jwtIssuer),
    .string("auth.audience", \.jwtAudience),
    .integer("auth.clockSkewSeconds", 0...3_600, \.jwtClockSkewSeconds),
    .string("audit.file", \.auditFile),
    .string("limits.callerRates", \.callerRates),
    .integer("limits.callerConcurrency", 0...1_000_000, \.callerConcurrency),
    .integer("limits.callerConnections", 0...1_000_000, \.callerConnections),
    .integer("server.eventLoopThreads", 0...64, \.eventLoopThreads),
    .integer("server.loopTickBudgetMicros", 1...1_000_000, \.loopTickBudgetMicros),
    .integer("server.flushDelayMicros", -1...100_000, \.flushDelayMicros),
    ConfigKey(path: "server.transport", kind: .choice(GRPCTransportKind.allCases.map(\.rawValue)),
              read: { .string($0.transport.rawValue) },
              write: { if case .string(let s) = $1, let kind = GRPCTransportKind(rawValue: s) { $0.transport = kind } }),
    .integer("server.maxConnections", 1...1_000_000, \.limits.maxConnections),
    .integer("server.maxConnectionsPerPeer", 1...1_000_000, \.limits.maxConnectionsPerPeer),
    // One connection may hold three quarters of the running calls, so others always find a slot.
    .integer("server.maxRunningCalls", 1...100_000, get: { $0.limits.maxRunningCalls },
             set: { $0.limits.maxRunningCalls = $1; $0.limits.maxRunningCallsPerConnection = max(1, $1 * 3 / 4) }),
    .integer("server.maxQueueWaitMs", 1...600_000, get: { milliseconds($0.limits.maxQueueWait) },
             set: { $0.limits.maxQueueWait = .milliseconds($1) }),
    .integer("server.shedQueueDelayMs", 0...600_000, get: { $0.limits.shedQueueDelay.map { milliseconds($0) } ?? 0 },
             set: { $0.limits.shedQueueDelay = $1 == 0 ? nil : .milliseconds($1) }),
    .integer("server.maxBufferedMegabytes", 8...1_000_000, get: { $0.limits.maxBufferedBytes >> 20 },
             set: { $0.limits.maxBufferedBytes = $1 << 20 }),
    .integer("server.idleTimeoutSeconds", 0...604_800, get: { $0.limits.idleTimeout.map { milliseconds($0) / 1_000 } ?? 0 },
             set: { $0.limits.idleTimeout = $1 == 0 ? nil : .seconds($1) }),
    .integer("server.keepaliveSeconds", 0...604_800, get: { $0.limits.keepaliveInterval.map { milliseconds($0) / 1_000 } ?? 0 },
             set: { $0.limits.keepaliveInterval = $1 == 0 ? nil : .seconds($1) }),
    .string("stores.redis", \.redisURL),
    .integer("stores.redisStreamShards", 1...RedisEventStream.maxShards, \.redisStreamShards),
    .integer("stores.redisReplicaAcks", 0...16, \.redisReplicaAcks),
    .integer("stores.redisReplicaTimeoutMs", 1...10_000, \.redisReplicaTimeoutMs),
    .integer("stores.eventIDMemoryHours", 1...8_760, \.eventIDMemoryHours),
    .string("stores.mongo", \.mongoURI),
    .string("index.directory", \.indexDirectory),
    .integer("index.pollSeconds", 1...86_400, \.indexPollSeconds),
    .string("index.source", \.indexSource),
    .string("server.replicaName", \.replicaName),
    .boolean("index.verifyChecksums", \.verifyIndexChecksums),
    .string("model.path", \.modelPath),
    .string("model.registry", \.modelRegistry),
    .string("model.name", \.modelName),
    .integer("demo.items", 1...10_000_000, \.demoItems),
    .integer("demo.users", 0...10_000_000, \.demoUsers),
    .integer("demo.seed", 0...Int.max, get: { Int(truncatingIfNeeded: $0.demoSeed) }, set: { $0.demoSeed = UInt64($1) }),
    .integer("serving.profileBudgetMs", 1...10_000, get: { milliseconds($0.serving.profileBudget) },
             set: { $0.serving.profileBudget = .milliseconds($1) }),
    .integer("serving.maxPerCategory", 1...1_000, \.serving.maxPerCategory),
    .integer("serving.batchConcurrency", 1...256, \.serving.batchConcurrency),
    .integer("serving.recentInteractions", 1...1_000, \.serving.recentInteractions),
    .integer("serving.itemActivityMaxAgeMs", 0...60_000, \.serving.itemActivityMaxAgeMs),
    .integer("serving.profileCacheTTLMs", 0...86_400_000, \.serving.profileCacheTTLMs),
    .integer("serving.profileStaleMs", 0...604_800_000, \.serving.profileStaleMs),
    .integer("serving.searchRankCount", 0...100_000, \.serving.searchRankCount),
    .integer("serving.searchCacheEntries", 0...1_000_000, \.serving.searchCacheEntries),
    .string("serving.searchNewnessAttribute", \.serving.searchNewnessAttribute),
    .integer("serving.maxCatalogChanges", 1...10_000_000, \.serving.maxCatalogChanges),
    .string("serving.banditScenes", \.banditScenes),
    .integer("serving.parallelScoringRows", 0...1_000_000, \.serving.parallelScoringRows),
    .integer("serving.firstPhaseTrees", 0...100_000, \.serving.modelCascade.firstPhaseTrees),
    .integer("serving.rerankCount", 1...100_000, \.serving.modelCascade.rerankCount),
    .boolean("serving.acceptUnknownItems", \.serving.acceptUnknownItems),
    .boolean("privacy.requireConsent", \.serving.requireConsent),
    .integer("privacy.eventRetentionHours", 1...87_600, \.eventRetentionHours),
    .integer("privacy.exposureRetentionHours", 1...87_600, \.exposureRetentionHours),
    .boolean("events.consume", \.consumeEvents),
    .string("tracing.otlpEndpoint", \.otlpEndpoint),
    .integer("tracing.samplePerMille", 0...1_000, \.traceSamplePerMille),
    ConfigKey(path: "log.format", kind: .choice(LogFormat.allCases.map(\.rawValue)),
              read: { .string($0.logFormat.rawValue) },
              write: { if case .string(let s) = $1, let format = LogFormat(rawValue: s) { $0.logFormat = format } }),
    ConfigKey(path: "log.level", kind: .choice(Logger.Level.allCases.map(\.rawValue)),
              read: { .string($0.logLevel.rawValue) },
              write: { if case .string(let s) = $1, let level = Logger.Level(rawValue: s) { $0.logLevel = level } }),
    .string("dashboard.currency", \.dashboardCurrency),
    .string("dashboard.rates", \.dashboardRates),
    .string("dashboard.chartLibrary", \.dashboardChartLibrary),
    .string("dashboard.webhooks", \.alarmWebhooks),
    .string("dashboard.webhookSecretFile", \.alarmWebhookSecretFile),
    .integer("events.attributionWindowSeconds", 1...(90 * 86_400), get: { milliseconds($0.serving.attributionWindow) / 1_000 },
             set: { $0.serving.attributionWindow = .seconds($1) }),
  ]

  /// The key at `path`, if there is one. O(keys).
  public static func named(_ path: String) -> ConfigKey? { all.first { $0.path == path } }

  /// The sections, in order of first appearance.
  public static var sections: [String] {
    var seen: [String] = []
    for key in all where !seen.contains(String(key.section)) { seen.append(String(key.section)) }
    return seen
  }
}

/// Whole milliseconds of a duration (rounded down).
private func milliseconds(_ d: Duration) -> Int {
  let (seconds, attoseconds) = d.components
  return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
}
