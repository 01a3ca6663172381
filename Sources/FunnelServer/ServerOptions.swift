import RedisStore
import Alarms
import Experiments
import Foundation
import FunnelCore
import FunnelJSON
import GRPCWire
import Logging
import Serving

/// Everything `funnel serve` needs, resolved from defaults, then the config file, then `FUNNEL_*`
/// environment variables, then flags.
public struct ServerOptions: Sendable {
  /// Address to listen on.
  public var host = "127.0.0.1"
  /// Port to listen on; 0 picks a free one (logged at start).
  public var port = 50051
  /// Event-loop threads of the gRPC listener, which also run the calls (`EventLoopExecutor`: a call
  /// stays on its connection's loop unless that loop has a backlog; no hop to Swift's pool and back
  /// per call). The default is one per core (at most 64): fewer context switches and less CPU per
  /// answer than 0 (`Benchmarks/h2load/floor.sh`, `Benchmarks/e2e/cpu.sh`). 0 runs the calls on
  /// Swift's cooperative pool behind NIO's shared group.
  public var eventLoopThreads = FunnelGRPCServer.defaultEventLoopThreads
  public var loopTickBudgetMicros = FunnelGRPCServer.defaultLoopTickBudgetMicros
  /// Origins (`https://shop.example`, comma-separated) whose pages may call the HTTP API (CORS).
  public var corsOrigins = ""
  /// Scenes answered with the online channel bandit, comma-separated (`serving.banditScenes`; empty:
  /// none); checked and copied to `serving.banditScenes` when the server starts.
  public var banditScenes = ""
  /// The admin listener (the Admin service): loopback unless configured, never the public listener.
  public var adminHost = "127.0.0.1"
  /// Port of the admin listener; 0 picks a free one, -1 disables it.
  public var adminPort = 50052
  /// Serve a non-loopback address without authentication (otherwise `funnel serve` refuses).
  public var insecure = false
  /// PEM certificate chain and key of the listeners (both set: TLS on the gRPC, admin and HTTP
  /// listeners); reloaded when the files change or on SIGHUP.
  public var tlsCertificate = "", tlsKey = ""
  /// PEM CA whose client certificates are accepted (mutual TLS); empty: none asked.
  public var tlsClientCA = ""
  /// With `tlsClientCA`: the client certificate names admitted, `;`-separated (empty: any the CA signed).
  public var tlsClientSubjects = ""
  /// Serve TLS 1.2 clients too (otherwise 1.3 only).
  public var tlsAllow12 = false
  /// Seconds between looks at the certificate and JWKS files for changes.
  public var securityReloadSeconds = 10
  /// On SIGTERM, how long the replica reports unready (and keeps serving) before its listeners
  /// drain and close, ms: at least the balancer's health-check interval times its fall count
  /// (Kubernetes: the readiness probe's period times its failure threshold). 0: drain at once.
  public var shutdownDelayMs = 0
  /// API keys: `NAME:SHA256HEX:SCOPE SCOPE, ...` (`funnel auth new-key` makes one).
  public var apiKeys = ""
  /// JSON Web Key Set file for bearer JWTs; empty: JWTs are not accepted.
  public var jwksFile = ""
  /// Required `iss` and an `aud` value of bearer JWTs (empty: not checked).
  public var jwtIssuer = "", jwtAudience = ""
  /// Allowance for clock differences on a JWT's `exp` and `nbf`, seconds.
  public var jwtClockSkewSeconds = 60
  /// Per-caller token buckets, `SCOPE=RATE[/BURST], ...` (authenticated callers; empty: none).
  public var callerRates = ""
  /// Calls of one authenticated caller in flight at once; 0: no cap.
  public var callerConcurrency = 0
  /// Connections one authenticated caller may make calls on at once (0: no cap).
  public var callerConnections = 0
  /// How long raw events stay in the Redis event stream, hours (the updaters trim older entries).
  public var eventRetentionHours = 144
  /// How long exposures stay in the Redis exposure log, hours.
  public var exposureRetentionHours = 720
  /// File the Admin calls are appended to as JSON lines; empty: log lines at notice level.
  public var auditFile = ""
  /// OTLP/gRPC endpoint spans are exported to (`http://collector:4317`); empty: no tracing.
  public var otlpEndpoint = ""
  /// New traces sampled per thousand; a caller's `traceparent` decides for its own.
  public var traceSamplePerMille = 10
  /// Log lines as text (swift-log's stream format) or as one JSON object per line.
  public var logFormat = LogFormat.text
  /// The lowest level logged.
  public var logLevel = Logger.Level.info
  /// How the listener coalesces responses into writes: 0 (the default) once per event-loop tick (no
  /// timer: answers produced together leave together, a lone one at once); N > 0 holds them up to N
  /// microseconds (grpc-swift's flush coalescing, its own default 100: at low load every answer waits
  /// the full delay); -1 writes each at once.
  public var flushDelayMicros = 0
  /// Which code answers gRPC calls: `nio-http2` (the default: Funnel's lean transport on
  /// swift-nio-http2's frames, a trivial call at a fraction of the CPU) or `grpc-swift`
  /// (grpc-swift-2's server transport). Both serve the same API (ARCHITECTURE.md compares them).
  public var transport = GRPCTransportKind.nioHTTP2
  /// The gRPC listener's limits against hostile and careless clients (the `nio-http2` transport):
  /// connections, buffered bytes, admitted calls, timers. Config keys under `server`.
  public var limits = WireServer.Configuration()
  /// Redis URL for real-time user and item features and the shared sub-query cache:
  /// `redis://`, `redis-cluster://` or `redis-sentinel://` (see `RedisDeployment`).
  public var redisURL: String?
  /// Shards of the Redis event stream (the same on every replica; spread over a cluster's nodes).
  public var redisStreamShards = 1
  /// Replicas that must hold an appended event before Track reports it accepted (0: the
  /// primary's word), and how long Track waits for them, ms.
  public var redisReplicaAcks = 0
  public var redisReplicaTimeoutMs = 100
  /// How long event ids are remembered in Redis (replays within it change nothing), hours: longer
  /// than `eventRetentionHours`, the stream's horizon; the largest memory cost at high event rates.
  public var eventIDMemoryHours = 168
  /// MongoDB URI for offline item and user features.
  public var mongoURI: String?
  /// Size and seed of the embedded demo catalog.
  public var demoItems = 5_000
  public var demoUsers = 3_000
  public var demoSeed: UInt64 = 42
  /// Serve the newest index generation under this directory instead of the demo store.
  public var indexDirectory: String?
  /// Where published generations are fetched from when Redis announces one (`GenerationFollower`):
  /// a shared directory or an http(s) base URL; `indexDirectory` is then the replica's local copy.
  public var indexSource: String?
  /// This replica's name in fleet reports (default HOST-PID).
  public var replicaName: String?
  /// How often to look for a newer generation under `indexDirectory`, in seconds.
  public var indexPollSeconds = 10
  /// Verify every index file's checksum when loading a generation (O(size)).
  public var verifyIndexChecksums = true
  /// Ranking model file (default: the built-in model).
  public var modelPath: String?
  /// Model registry directory (`ROOT/NAME/VERSION/model.*`); its newest version wins over `modelPath`.
  public var modelRegistry: String?
  /// The registry's model name to serve.
  public var modelName = "ranker"
  /// Pipeline settings.
  public var serving = ServingConfiguration()
  /// Port of the HTTP listener (`POST /v1/events`, `/healthz`, `/metrics`); 0 picks a free one, -1 disables it.
  public var httpPort = 8080
  /// Run the real-time feature updater (a consumer of the Redis event stream) in this process.
  /// Off when separate `funnel consume` processes do it.
  public var consumeEvents = true
  /// A/B experiments (config file section `experiments`, see `ExperimentConfig`).
  public var experiments: [ExperimentPlan.Experiment] = []
  /// Port of the dashboard's HTTP listener on `adminHost` (the live operations dashboard and its
  /// pushes); 0 picks a free one, -1 disables it.
  public var dashboardPort = 8081
  /// The dashboard's reporting currency (empty: amounts as given) and rates from other currencies
  /// (`EUR=0.86,USD=0.79`: units of the reporting currency per unit).
  public var dashboardCurrency = ""
  public var dashboardRates = ""
  /// Webhook URLs alarm notifications are posted to (comma-separated), and the file holding the
  /// secret they are signed with (HMAC-SHA256; empty: unsigned).
  public var alarmWebhooks = ""
  public var alarmWebhookSecretFile = ""
  /// Chart.js's UMD build, served to the dashboard's page (Debian's libjs-chart.js puts it here).
  public var dashboardChartLibrary = "/usr/share/javascript/chart.js/chart.min.js"
  /// Alarm rules (config file section `alarms`, a list of `AlarmRule` objects).
  public var alarms: [AlarmRule] = []

  /// Where each key's value came from, by path (`server.port`); a key not listed has its default.
  public private(set) var sources: [String: ConfigSource] = [:]

  /// The defaults above.
  public init() {}

  /// The options from the defaults, then `configFile`, then `environment`'s `FUNNEL_*` variables,
  /// then `flags` in order (each names the flag it came from, the key's path and the text given).
  public static func resolve(configFile: String?, environment: [String: String],
                             flags: [(flag: String, path: String, text: String)]) throws -> ServerOptions {
    var options = ServerOptions()
    if let configFile { try options.apply(configFile: configFile) }
    try options.apply(environment: environment)
    for (flag, path, text) in flags { try options.set(path, text: text, from: .flag(flag)) }
    return options
  }

  /// `--set section.key=value` flags as (flag, path, text) triples for `resolve`. Throws naming the
  /// flag when one has no `=`.
  public static func settings(_ assignments: [String]) throws -> [(flag: String, path: String, text: String)] {
    try assignments.map { assignment in
      guard let equals = assignment.firstIndex(of: "=") else {
        throw FunnelError(.invalidArgument, "--set \(assignment): expected section.key=value")
      }
      return ("--set \(assignment)", String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...]))
    }
  }

  /// The current value of `key`.
  public func value(of key: ConfigKey) -> ConfigKey.Value { key.read(self) }

  /// Where the current value of `key` came from.
  public func source(of key: ConfigKey) -> ConfigSource { sources[key.path] ?? .defaults }

  /// Sets the key at `path` from text (a flag's or `--set path=value`'s), checked against its kind
  /// and range. Throws `FunnelError.invalidArgument` naming the key, the flag and what it takes.
  public mutating func set(_ path: String, text: String, from source: ConfigSource) throws {
    guard let key = ConfigKey.named(path) else {
      throw FunnelError(.invalidArgument, "\(source): unknown key '\(path)' (funnel config print lists them)")
    }
    set(key, try key.parse(text, origin: source.description), from: source)
  }

  mutating func set(_ key: ConfigKey, _ value: ConfigKey.Value, from source: ConfigSource) {
    key.write(&self, value)
    sources[key.path] = source
  }

  /// Applies `FUNNEL_SECTION_KEY` environment variables (`FUNNEL_SERVER_PORT=50052`,
  /// `FUNNEL_STORES_REDIS=redis://...`, `FUNNEL_SERVING_PROFILE_BUDGET_MS=30`: the key's letters,
  /// any case, underscores ignored). Variables of other sections (`FUNNEL_RUN`) are not config; an
  /// unknown key of a config section is an error naming the variable.
  public mutating func apply(environment: [String: String]) throws {
    let sections = ConfigKey.sections
    for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("FUNNEL_") {
      let parts = name.dropFirst("FUNNEL_".count).split(separator: "_", maxSplits: 1)
      guard parts.count == 2, let section = sections.first(where: { $0.uppercased() == parts[0].uppercased() }) else { continue }
      let wanted = parts[1].replacingOccurrences(of: "_", with: "").uppercased()
      guard let key = ConfigKey.all.first(where: { $0.section == section && $0.key.uppercased() == wanted }) else {
        let allowed = ConfigKey.all.filter { $0.section == section }.map(\.environmentName)
        throw FunnelError(.invalidArgument, "environment \(name): unknown key of '\(section)' (allowed: \(allowed.joined(separator: ", ")))")
      }
      set(key, try key.parse(text, origin: "environment \(name)"), from: .environment(name))
    }
  }

  /// Applies a JSON config file (documented in `Deploy/funnel.example.json`). An unknown key is an
  /// error naming its path, so a typo never silently changes nothing; so is a value of the wrong
  /// kind or out of its range. Throws `FunnelError.invalidArgument` naming the file and the key.
  public mutating func apply(configFile path: String) throws {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw FunnelError(.invalidArgument, "config \(path): cannot read: \(error.localizedDescription)")
    }
    guard let parsed = data.withUnsafeBytes({ JSONValue.parse($0) }) else {
      throw FunnelError(.invalidArgument, "config \(path): not valid JSON")
    }
    guard case .object(let root) = parsed else {
      throw FunnelError(.invalidArgument, "config \(path): the top level must be a JSON object")
    }
    let origin = "config \(path)"
    let sections = ConfigKey.sections
    for (name, section) in root.sorted(by: { $0.key < $1.key }) {
      if name == "experiments" {
        // A list of objects of its own shape; ExperimentConfig reads it with its own checks.
        if section != .null { experiments = try ExperimentConfig.parse(section, path: path) }
        continue
      }
      if name == "alarms" {
        if section != .null { alarms = try Self.alarmRules(data, path: path) }
        continue
      }
      guard sections.contains(name) else {
        throw FunnelError(.invalidArgument, "\(origin): unknown key '\(name)' (allowed: \((sections + ["experiments", "alarms"]).joined(separator: ", ")))")
      }
      if case .null = section { continue }
      guard case .object(let entries) = section else {
        throw FunnelError(.invalidArgument, "\(origin): '\(name)' must be an object")
      }
      for (keyName, json) in entries.sorted(by: { $0.key < $1.key }) {
        guard let key = ConfigKey.named("\(name).\(keyName)") else {
          let allowed = ConfigKey.all.filter { $0.section == name }.map { String($0.key) }
          throw FunnelError(.invalidArgument, "\(origin): unknown key '\(name).\(keyName)' (allowed: \(allowed.joined(separator: ", ")))")
        }
        if let value = try key.value(json, origin: origin) { set(key, value, from: .file(path)) }
      }
    }
  }
}

extension ServerOptions {
  /// The `alarms` section of config file `data`: a list of `AlarmRule` objects, each validated
  /// (errors name the file and the rule's field), names unique.
  static func alarmRules(_ data: Data, path: String) throws -> [AlarmRule] {
    struct File: Decodable { var alarms: [AlarmRule]? }
    let rules: [AlarmRule]
    do {
      rules = try JSONDecoder().decode(File.self, from: data).alarms ?? []
    } catch let DecodingError.keyNotFound(key, context) {
      throw FunnelError(.invalidArgument, "config \(path): \(Self.codingPath(context.codingPath + [key])): is required")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
      throw FunnelError(.invalidArgument, "config \(path): \(Self.codingPath(context.codingPath)): \(context.debugDescription)")
    } catch let DecodingError.dataCorrupted(context) {
      throw FunnelError(.invalidArgument, "config \(path): \(Self.codingPath(context.codingPath)): \(context.debugDescription)")
    } catch {
      throw FunnelError(.invalidArgument, "config \(path): alarms: \(error)")
    }
    var names: Set<String> = []
    for (i, rule) in rules.enumerated() {
      do { try rule.validate(at: "alarms[\(i)]") } catch let error as AlarmRuleError {
        throw FunnelError(.invalidArgument, "config \(path): \(error.message)")
      }
      guard names.insert(rule.name).inserted else {
        throw FunnelError(.invalidArgument, "config \(path): alarms[\(i)].name: '\(rule.name)' is used by an earlier rule")
      }
    }
    return rules
  }

  private static func codingPath(_ path: [any CodingKey]) -> String {
    path.reduce("") { text, key in
      if let index = key.intValue { return text + "[\(index)]" }
      return text.isEmpty ? key.stringValue : text + "." + key.stringValue
    }
  }
}

extension ServerOptions {
  /// The real-time store's limits these options set (event-id memory).
  public var redisLimits: RedisFeatureStore.Limits {
    var limits = RedisFeatureStore.Limits()
    limits.eventIDTTLSeconds = eventIDMemoryHours * 3_600
    return limits
  }
}
