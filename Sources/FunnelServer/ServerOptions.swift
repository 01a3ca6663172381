import Foundation
import FunnelCore
import Experiments
import GRPCWire
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
  /// Redis URL for real-time user and item features and the shared sub-query cache.
  public var redisURL: String?
  /// MongoDB URI for offline item and user features.
  public var mongoURI: String?
  /// Size and seed of the embedded demo catalog.
  public var demoItems = 5_000
  public var demoUsers = 3_000
  public var demoSeed: UInt64 = 42
  /// Serve the newest index generation under this directory instead of the demo store.
  public var indexDirectory: String?
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

  /// The defaults above.
  public init() {}

  /// Config keys by section: the file's schema, and the names environment variables map to.
  public static let configKeys: [String: [String]] = [
    "server": ["host", "port", "eventLoopThreads", "httpPort", "flushDelayMicros", "transport", "maxConnections",
               "maxConnectionsPerPeer", "maxRunningCalls", "maxQueueWaitMs", "maxBufferedMegabytes", "idleTimeoutSeconds",
               "keepaliveSeconds"],
    "stores": ["redis", "mongo"],
    "events": ["consume", "attributionWindowSeconds"],
    "demo": ["items", "users", "seed"],
    "serving": ["profileBudgetMs", "acceptUnknownItems"] + servingIntegers.map(\.key),
    "index": ["directory", "pollSeconds", "verifyChecksums"],
  ]

  /// A settable integer of `ServingConfiguration`.
  typealias ServingSetting = any WritableKeyPath<ServingConfiguration, Int> & Sendable

  /// The serving section's integer keys: the allowed range of each and the setting it sets (one
  /// table, so a new key is one line here, its check and its schema entry included).
  static let servingIntegers: [(key: String, range: ClosedRange<Int>, setting: ServingSetting)] = [
    ("maxPerCategory", 1...1_000, \.maxPerCategory),
    ("batchConcurrency", 1...256, \.batchConcurrency),
    ("recentInteractions", 1...1_000, \.recentInteractions),
    ("itemActivityMaxAgeMs", 0...60_000, \.itemActivityMaxAgeMs),
    ("profileCacheTTLMs", 0...86_400_000, \.profileCacheTTLMs),
    ("profileStaleMs", 0...604_800_000, \.profileStaleMs),
    ("searchRankCount", 0...100_000, \.searchRankCount),
    ("searchCacheEntries", 0...1_000_000, \.searchCacheEntries),
    ("parallelScoringRows", 0...1_000_000, \.parallelScoringRows),
  ]

  /// Applies `FUNNEL_SECTION_KEY` environment variables (`FUNNEL_SERVER_PORT=50052`,
  /// `FUNNEL_STORES_REDIS=redis://...`, `FUNNEL_SERVING_PROFILE_BUDGET_MS=30`: the key's letters,
  /// any case, underscores ignored). Variables of other sections (`FUNNEL_RUN`) are not config; an
  /// unknown key of a config section is an error naming the variable.
  public mutating func apply(environment: [String: String]) throws {
    var root: [String: [String: Any]] = [:]
    for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("FUNNEL_") {
      let parts = name.dropFirst("FUNNEL_".count).split(separator: "_", maxSplits: 1)
      guard parts.count == 2, let section = Self.configKeys.keys.first(where: { $0.uppercased() == parts[0] }) else { continue }
      let wanted = parts[1].replacingOccurrences(of: "_", with: "").uppercased()
      guard let key = Self.configKeys[section]!.first(where: { $0.uppercased() == wanted }) else {
        throw FunnelError(.invalidArgument, "environment \(name): unknown key of '\(section)' (allowed: "
                          + Self.configKeys[section]!.map { "FUNNEL_\(section.uppercased())_\($0.uppercased())" }.joined(separator: ", ") + ")")
      }
      // Numbers and true/false as JSON gives them (so the file's checks apply unchanged), else a string.
      let literal = Int(value) != nil || value == "true" || value == "false"
      let json = literal ? value : String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
      let parsed = try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [Any]
      root[section, default: [:]][key] = parsed?.first
    }
    try apply(root, source: "environment (FUNNEL_*)")
  }

  /// Applies a JSON config file (documented in `Deploy/funnel.example.json`). Unknown keys are errors,
  /// so a typo never silently changes nothing. Throws `FunnelError.invalidArgument` naming the file and key.
  public mutating func apply(configFile path: String) throws {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw FunnelError(.invalidArgument, "config \(path): cannot read: \(error.localizedDescription)")
    }
    let root: [String: Any]
    do {
      guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw FunnelError(.invalidArgument, "config \(path): the top level must be a JSON object")
      }
      root = object
    } catch let error as FunnelError {
      throw error
    } catch {
      throw FunnelError(.invalidArgument, "config \(path): not valid JSON: \(error.localizedDescription)")
    }
    try apply(root, source: path)
  }

  /// The keys of `section` in `configKeys` (one list for the file and the environment).
  private static func allowedKeys(_ section: String) -> Set<String> { Set(configKeys[section] ?? []) }

  private mutating func apply(_ root: [String: Any], source path: String) throws {
    let reader = ConfigReader(path: path)
    try reader.check(root, allowed: Set(Self.configKeys.keys).union(["experiments"]), at: "")
    if let list = root["experiments"], !(list is NSNull) {
      experiments = try ExperimentConfig.parse(list, path: path)
    }
    if let events = try reader.object(root, "events") {
      try reader.check(events, allowed: Self.allowedKeys("events"), at: "events")
      if let consume = events["consume"] {
        guard String(describing: type(of: consume)).contains("Boolean"), let flag = consume as? Bool else {
          throw FunnelError(.invalidArgument, "config \(path): 'events.consume' must be true or false")
        }
        consumeEvents = flag
      }
      if let seconds = try reader.int(events, "attributionWindowSeconds", at: "events", range: 1...(90 * 86_400)) {
        serving.attributionWindow = .seconds(seconds)
      }
    }
    if let index = try reader.object(root, "index") {
      try reader.check(index, allowed: Self.allowedKeys("index"), at: "index")
      indexDirectory = try reader.string(index, "directory", at: "index") ?? indexDirectory
      indexPollSeconds = try reader.int(index, "pollSeconds", at: "index", range: 1...86_400) ?? indexPollSeconds
      if let verify = index["verifyChecksums"] {
        guard String(describing: type(of: verify)).contains("Boolean"), let flag = verify as? Bool else {
          throw FunnelError(.invalidArgument, "config \(path): 'index.verifyChecksums' must be true or false")
        }
        verifyIndexChecksums = flag
      }
    }
    if let server = try reader.object(root, "server") {
      try reader.check(server, allowed: Self.allowedKeys("server"), at: "server")
      httpPort = try reader.int(server, "httpPort", at: "server", range: -1...65_535) ?? httpPort
      host = try reader.string(server, "host", at: "server") ?? host
      port = try reader.int(server, "port", at: "server", range: 0...65_535) ?? port
      eventLoopThreads = try reader.int(server, "eventLoopThreads", at: "server", range: 0...64) ?? eventLoopThreads
      flushDelayMicros = try reader.int(server, "flushDelayMicros", at: "server", range: -1...100_000) ?? flushDelayMicros
      try applyLimits(server, reader)
      if let name = try reader.string(server, "transport", at: "server") {
        guard let kind = GRPCTransportKind(rawValue: name) else {
          throw FunnelError(.invalidArgument, "config \(path): 'server.transport' must be one of "
            + "\(GRPCTransportKind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
        }
        transport = kind
      }
    }
    if let stores = try reader.object(root, "stores") {
      try reader.check(stores, allowed: Self.allowedKeys("stores"), at: "stores")
      redisURL = try reader.string(stores, "redis", at: "stores") ?? redisURL
      mongoURI = try reader.string(stores, "mongo", at: "stores") ?? mongoURI
    }
    if let demo = try reader.object(root, "demo") {
      try reader.check(demo, allowed: Self.allowedKeys("demo"), at: "demo")
      demoItems = try reader.int(demo, "items", at: "demo", range: 1...10_000_000) ?? demoItems
      demoUsers = try reader.int(demo, "users", at: "demo", range: 0...10_000_000) ?? demoUsers
      demoSeed = try reader.int(demo, "seed", at: "demo", range: 0...Int.max).map(UInt64.init) ?? demoSeed
    }
    if let s = try reader.object(root, "serving") {
      try reader.check(s, allowed: Self.allowedKeys("serving"), at: "serving")
      if let ms = try reader.int(s, "profileBudgetMs", at: "serving", range: 1...10_000) {
        serving.profileBudget = .milliseconds(ms)
      }
      for (key, range, setting) in Self.servingIntegers {
        if let value = try reader.int(s, key, at: "serving", range: range) { serving[keyPath: setting] = value }
      }
      if let accept = s["acceptUnknownItems"] {
        guard String(describing: type(of: accept)).contains("Boolean"), let flag = accept as? Bool else {
          throw FunnelError(.invalidArgument, "config \(path): 'serving.acceptUnknownItems' must be true or false")
        }
        serving.acceptUnknownItems = flag
      }
    }
  }
}

/// Typed access to a decoded JSON config with errors that name the file and the key path.
struct ConfigReader {
  let path: String

  func check(_ object: [String: Any], allowed: Set<String>, at section: String) throws {
    for key in object.keys where !allowed.contains(key) {
      let place = section.isEmpty ? key : "\(section).\(key)"
      throw FunnelError(.invalidArgument,
                        "config \(path): unknown key '\(place)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
    }
  }

  func object(_ object: [String: Any], _ key: String) throws -> [String: Any]? {
    guard let value = object[key], !(value is NSNull) else { return nil }
    guard let nested = value as? [String: Any] else { throw FunnelError(.invalidArgument, "config \(path): '\(key)' must be an object") }
    return nested
  }

  func string(_ object: [String: Any], _ key: String, at section: String) throws -> String? {
    guard let value = object[key], !(value is NSNull) else { return nil }
    guard let s = value as? String else {
      throw FunnelError(.invalidArgument, "config \(path): '\(section).\(key)' must be a string")
    }
    return s
  }

  func int(_ object: [String: Any], _ key: String, at section: String, range: ClosedRange<Int>) throws -> Int? {
    guard let value = object[key], !(value is NSNull) else { return nil }
    guard !String(describing: type(of: value)).contains("Boolean"), let number = value as? NSNumber,
          let n = Int(exactly: number.doubleValue), range.contains(n) else {
      throw FunnelError(.invalidArgument, "config \(path): '\(section).\(key)' must be an integer in \(range)")
    }
    return n
  }
}

extension ServerOptions {
  /// The `server` section's limits of the gRPC listener (`WireServer.Configuration`); 0 for the
  /// idle timeout and keepalive turns them off.
  mutating func applyLimits(_ server: [String: Any], _ reader: ConfigReader) throws {
    limits.maxConnections = try reader.int(server, "maxConnections", at: "server", range: 1...1_000_000) ?? limits.maxConnections
    limits.maxConnectionsPerPeer = try reader.int(server, "maxConnectionsPerPeer", at: "server", range: 1...1_000_000)
      ?? limits.maxConnectionsPerPeer
    if let running = try reader.int(server, "maxRunningCalls", at: "server", range: 1...100_000) {
      limits.maxRunningCalls = running
      limits.maxRunningCallsPerConnection = max(1, running * 3 / 4)
    }
    if let wait = try reader.int(server, "maxQueueWaitMs", at: "server", range: 1...600_000) { limits.maxQueueWait = .milliseconds(wait) }
    if let megabytes = try reader.int(server, "maxBufferedMegabytes", at: "server", range: 8...1_000_000) {
      limits.maxBufferedBytes = megabytes << 20
    }
    if let idle = try reader.int(server, "idleTimeoutSeconds", at: "server", range: 0...604_800) {
      limits.idleTimeout = idle == 0 ? nil : .seconds(idle)
    }
    if let keepalive = try reader.int(server, "keepaliveSeconds", at: "server", range: 0...604_800) {
      limits.keepaliveInterval = keepalive == 0 ? nil : .seconds(keepalive)
    }
  }
}
