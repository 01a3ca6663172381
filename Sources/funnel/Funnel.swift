import ArgumentParser
import Foundation
import FunnelCore
import FunnelServer
import Logging

/// The `funnel` command line.
@main
struct Funnel: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "funnel",
    abstract: "Funnel: a two-stage recall-and-ranking engine for e-commerce recommendations and search.",
    version: FunnelApplication.version,
    subcommands: [Serve.self, Query.self, Index.self, Generate.self, Model.self, Features.self, Load.self, Batch.self, IngestData.self, Eval.self, Export.self,
                  Consume.self, ExperimentsCommand.self])
}

/// `funnel serve`: the gRPC server.
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve Recommend, Search, BatchRecommend, Track, Admin and Health over gRPC.",
    discussion: """
      With no store flags the server runs on the embedded default: in-process feature stores seeded
      from a generated demo store. Precedence: built-in defaults < --config file < flags.
      SIGTERM or SIGINT stop it gracefully: in-flight calls finish.
      """)

  @Option(help: "Address to listen on.") var host: String?
  @Option(help: "Port to listen on (0 = any free port; the bound port is logged).") var port: Int?
  @Option(help: "Listener loops, which run the calls too (default: one per core); 0 = NIO's shared loops with calls on the Swift pool.") var eventLoopThreads: Int?
  @Option(name: .customLong("flush-delay-us"), help: "Response write coalescing: 0 = once per event-loop tick (default), N = up to N µs (grpc-swift's timer), -1 = off.")
  var flushDelayMicros: Int?
  @Option(help: "gRPC transport: nio-http2 (default; Funnel's lean server on swift-nio-http2 frames) or grpc-swift.")
  var transport: String?
  @Option(name: .customLong("redis"), help: "Redis URL: real-time features, the event stream, the exposure log and the shared filter sub-query cache.") var redisURL: String?
  @Option(name: .customLong("mongo"), help: "MongoDB URI for offline item and user features (database funnel; see funnel features load).") var mongoURI: String?
  @Option(name: .customLong("config"), help: "JSON configuration file (see Deploy/funnel.example.json).") var configPath: String?
  @Option(help: "Serve the newest index generation under this directory (instead of the demo shop).") var index: String?
  @Option(help: "Seconds between looks for a newer generation under --index.") var indexPollSeconds: Int?
  @Flag(help: "Skip checksum verification when loading generations (faster opens of large indexes).") var noVerifyIndex = false
  @Option(help: "Ranking model: XGBoost JSON, LightGBM text or funnel-linear JSON (default: built-in).") var model: String?
  @Option(help: "Model registry DIR/NAME/VERSION/model.{json,txt}; the newest version serves and is reloaded hot.") var models: String?
  @Option(help: "Model name in the registry.") var modelName: String?
  @Option(help: "Items in the embedded demo catalog.") var demoItems: Int?
  @Option(help: "Users with a history in the embedded demo catalog.") var demoUsers: Int?
  @Option(help: "HTTP port for POST /v1/events, /healthz and /metrics (0 = any free port, -1 = off; default 8080).") var httpPort: Int?
  @Flag(help: "Do not apply the Redis event stream in this process (run `funnel consume` instead).") var noConsume = false
  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

  func validate() throws {
    if let port, !(0...65_535).contains(port) { throw ValidationError("--port \(port) is outside 0...65535") }
    if let eventLoopThreads, !(0...64).contains(eventLoopThreads) { throw ValidationError("--event-loop-threads must be 0...64") }
    if let flushDelayMicros, !(-1...100_000).contains(flushDelayMicros) { throw ValidationError("--flush-delay-us must be -1...100000") }
    if let indexPollSeconds, indexPollSeconds < 1 { throw ValidationError("--index-poll-seconds must be at least 1") }
    if let demoItems, demoItems < 1 { throw ValidationError("--demo-items must be at least 1") }
    if let demoUsers, demoUsers < 0 { throw ValidationError("--demo-users must not be negative") }
    guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a level") }
  }

  func run() async throws {
    let level = Logger.Level(rawValue: logLevel) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "funnel")
    do {
      var options = ServerOptions()
      if let configPath { try options.apply(configFile: configPath) }
      try options.apply(environment: ProcessInfo.processInfo.environment)
      if let host { options.host = host }
      if let port { options.port = port }
      if let eventLoopThreads { options.eventLoopThreads = eventLoopThreads }
      if let flushDelayMicros { options.flushDelayMicros = flushDelayMicros }
      if let transport {
        guard let kind = GRPCTransportKind(rawValue: transport) else {
          throw ValidationError("--transport must be one of \(GRPCTransportKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        options.transport = kind
      }
      if let redisURL { options.redisURL = redisURL }
      if let mongoURI { options.mongoURI = mongoURI }
      if let demoItems { options.demoItems = demoItems }
      if let demoUsers { options.demoUsers = demoUsers }
      if let index { options.indexDirectory = index }
      if let model { options.modelPath = model }
      if let models { options.modelRegistry = models }
      if let modelName { options.modelName = modelName }
      if let indexPollSeconds { options.indexPollSeconds = indexPollSeconds }
      if noVerifyIndex { options.verifyIndexChecksums = false }
      if let httpPort { options.httpPort = httpPort }
      if noConsume { options.consumeEvents = false }
      try await FunnelApplication.serve(options, logger: logger)
    } catch let error as FunnelError {
      logger.error("funnel serve failed", metadata: ["error": "\(error.message)"])
      throw ExitCode(2)
    }
  }
}
