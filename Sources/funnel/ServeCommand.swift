import ArgumentParser
import Foundation
import FunnelCore
import FunnelServer
import Logging

/// `funnel serve`: the gRPC server.
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve Recommend, Search, BatchRecommend, Track and Health over gRPC, the JSON API over HTTP, and Admin on a listener of its own.",
    discussion: """
      With no store flags the server runs on the embedded default: in-process feature stores seeded
      from a generated demo store. Precedence: built-in defaults < --config file < FUNNEL_*
      environment variables < flags (funnel config print shows the result and where each value came from).
      SIGTERM or SIGINT stop it gracefully: in-flight calls finish.
      """)

  @Option(help: "Address to listen on (server.host).") var host: String?
  @Option(help: "Port to listen on (server.port; 0 = any free port; the bound port is logged).") var port: String?
  @Option(help: "Listener loops, which run the calls too (server.eventLoopThreads; default: one per core); 0 = NIO's shared loops with calls on the Swift pool.") var eventLoopThreads: String?
  @Option(name: .customLong("flush-delay-us"), help: "Response write coalescing (server.flushDelayMicros): 0 = once per event-loop tick (default), N = up to N µs (grpc-swift's timer), -1 = off.")
  var flushDelayMicros: String?
  @Option(help: "gRPC transport (server.transport): nio-http2 (default; Funnel's lean server on swift-nio-http2 frames) or grpc-swift.")
  var transport: String?
  @Option(name: .customLong("redis"), help: "Redis URL (stores.redis): real-time features, the event stream, the exposure log and the shared filter sub-query cache.") var redisURL: String?
  @Option(name: .customLong("mongo"), help: "MongoDB URI (stores.mongo) for offline item and user features (database funnel; see funnel features load).") var mongoURI: String?
  @Option(name: .customLong("config"), help: "JSON configuration file (see Deploy/funnel.example.json; funnel config check validates one).") var configPath: String?
  @Option(help: "Serve the newest index generation under this directory (index.directory) instead of the demo shop.") var index: String?
  @Option(help: "Seconds between looks for a newer generation under --index (index.pollSeconds).") var indexPollSeconds: String?
  @Option(help: "Shared directory or http(s) URL of published generations (index.source): fetched into --index when announced (`funnel index publish`).") var indexSource: String?
  @Flag(help: "Skip checksum verification when loading generations (index.verifyChecksums false).") var noVerifyIndex = false
  @Option(help: "Ranking model (model.path): XGBoost JSON, LightGBM text, ONNX MLP or funnel-linear JSON (default: built-in).") var model: String?
  @Option(help: "Model registry DIR/NAME/VERSION/model.{json,txt,onnx} (model.registry); the newest version serves and is reloaded hot.") var models: String?
  @Option(help: "Model name in the registry (model.name).") var modelName: String?
  @Option(help: "Items in the embedded demo catalog (demo.items).") var demoItems: String?
  @Option(help: "Users with a history in the embedded demo catalog (demo.users).") var demoUsers: String?
  @Option(help: "HTTP port for POST /v1/events, /healthz, /readyz and /metrics (server.httpPort; 0 = any free port, -1 = off; default 8080).") var httpPort: String?
  @Option(help: "Admin listener port, for the Admin service only (server.adminPort; on server.adminHost, 127.0.0.1 by default; -1 = off; default 50052).") var adminPort: String?
  @Option(help: "Dashboard listener port: the live operations dashboard at /dashboard (server.dashboardPort; on server.adminHost; -1 = off; default 8081).") var dashboardPort: String?
  @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: TLS on every listener (tls.certificate; with --tls-key).") var tlsCertificate: String?
  @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (tls.key).") var tlsKey: String?
  @Option(name: .customLong("tls-client-ca"), help: "PEM CA whose client certificates are required (tls.clientCA; mutual TLS).") var tlsClientCA: String?
  @Option(name: .customLong("tls-client-subjects"), help: "Client certificate names admitted, ';'-separated: a subject DN, common name or DNS/URI SAN (tls.clientSubjects).") var tlsClientSubjects: String?
  @Flag(help: "Serve a non-loopback address without authentication (server.insecure).") var insecure = false
  @Flag(help: "Do not apply the Redis event stream in this process (events.consume false; run `funnel consume` instead).") var noConsume = false
  @Option(name: .customLong("set"), help: ArgumentHelp("Any configuration key: --set serving.maxPerCategory=3 (repeatable; funnel config print lists the keys).", valueName: "key=value"))
  var settings: [String] = []
  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (log.level; default info).") var logLevel: String?
  @Option(help: "Log lines as text or json, one object per line (log.format; default text).") var logFormat: String?

  /// The named flags given, as (flag, key path, text) for `ServerOptions.resolve`: each is checked
  /// against the key's kind and range there, once for every source.
  var flagSettings: [(flag: String, path: String, text: String)] {
    let named: [(String, String, String?)] = [
      ("--host", "server.host", host), ("--port", "server.port", port),
      ("--event-loop-threads", "server.eventLoopThreads", eventLoopThreads),
      ("--flush-delay-us", "server.flushDelayMicros", flushDelayMicros), ("--transport", "server.transport", transport),
      ("--redis", "stores.redis", redisURL), ("--mongo", "stores.mongo", mongoURI),
      ("--index", "index.directory", index), ("--index-poll-seconds", "index.pollSeconds", indexPollSeconds),
      ("--index-source", "index.source", indexSource),
      ("--no-verify-index", "index.verifyChecksums", noVerifyIndex ? "false" : nil),
      ("--model", "model.path", model), ("--models", "model.registry", models), ("--model-name", "model.name", modelName),
      ("--demo-items", "demo.items", demoItems), ("--demo-users", "demo.users", demoUsers),
      ("--http-port", "server.httpPort", httpPort), ("--admin-port", "server.adminPort", adminPort),
      ("--dashboard-port", "server.dashboardPort", dashboardPort),
      ("--tls-cert", "tls.certificate", tlsCertificate), ("--tls-key", "tls.key", tlsKey),
      ("--tls-client-ca", "tls.clientCA", tlsClientCA),
      ("--tls-client-subjects", "tls.clientSubjects", tlsClientSubjects), ("--insecure", "server.insecure", insecure ? "true" : nil), ("--no-consume", "events.consume", noConsume ? "false" : nil),
      ("--log-level", "log.level", logLevel), ("--log-format", "log.format", logFormat),
    ]
    return named.compactMap { flag, path, text in text.map { (flag, path, $0) } }
  }

  func run() async throws {
    do {
      let options = try ServerOptions.resolve(configFile: configPath, environment: ProcessInfo.processInfo.environment,
                                              flags: flagSettings + ServerOptions.settings(settings))
      LogFormat.bootstrap(options)
      try await FunnelApplication.serve(options, logger: Logger(label: "funnel"))
    } catch let error as FunnelError {
      // Also before logging is set up (a bad configuration): straight to standard error.
      FileHandle.standardError.write(Data("funnel serve failed: \(error.message)\n".utf8))
      throw ExitCode(2)
    }
  }
}
