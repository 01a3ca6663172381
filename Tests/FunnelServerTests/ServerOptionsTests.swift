import Foundation
import FunnelCore
import FunnelServer
import Serving
import Testing

/// Configuration: defaults < config file < FUNNEL_* environment < flags; bad values name the key.
@Suite struct ServerOptionsTests {
  static func file(_ json: String) throws -> String {
    let path = NSTemporaryDirectory() + "funnel-config-\(UUID().uuidString).json"
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test func environmentOverridesTheFile() throws {
    let path = try Self.file(#"{"server": {"port": 6000}, "serving": {"profileBudgetMs": 40}, "index": {"verifyChecksums": true}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    #expect(options.transport == .nioHTTP2)
    try options.apply(configFile: path)
    #expect(options.port == 6000)
    try options.apply(environment: ["FUNNEL_SERVER_PORT": "7000", "FUNNEL_SERVING_PROFILE_BUDGET_MS": "25",
                                    "FUNNEL_STORES_REDIS": "redis://10.0.0.1:6379", "FUNNEL_INDEX_VERIFY_CHECKSUMS": "false",
                                    "FUNNEL_SERVER_FLUSH_DELAY_MICROS": "-1", "FUNNEL_SERVING_SEARCH_RANK_COUNT": "300",
                                    "FUNNEL_SERVING_SEARCH_CACHE_ENTRIES": "0", "FUNNEL_SERVER_TRANSPORT": "grpc-swift",
                                    "FUNNEL_SERVING_FIRST_PHASE_TREES": "100", "FUNNEL_SERVING_RERANK_COUNT": "150",
                                    "FUNNEL_RUN": "/tmp/not-config", "PATH": "/usr/bin"])
    #expect(options.serving.searchRankCount == 300 && options.serving.searchCacheEntries == 0)
    #expect(options.serving.modelCascade == ModelCascade(firstPhaseTrees: 100, rerankCount: 150))
    #expect(options.flushDelayMicros == -1)
    #expect(options.transport == .grpcSwift)
    #expect(options.port == 7000)
    #expect(options.serving.profileBudget == .milliseconds(25))
    #expect(options.redisURL == "redis://10.0.0.1:6379")
    #expect(options.verifyIndexChecksums == false)
  }

  @Test(arguments: [
    (["FUNNEL_SERVER_PROT": "1"], "FUNNEL_SERVER_PROT"),
    (["FUNNEL_SERVER_PORT": "seventy"], "'server.port' must be an integer"),
    (["FUNNEL_SERVER_PORT": "70000"], "'server.port' must be an integer in 0...65535"),
    (["FUNNEL_INDEX_VERIFY_CHECKSUMS": "yes"], "'index.verifyChecksums' must be true or false"),
    (["FUNNEL_SERVER_FLUSH_DELAY_MICROS": "-2"], "'server.flushDelayMicros' must be an integer in -1...100000"),
    (["FUNNEL_SERVING_SEARCH_RANK_COUNT": "-1"], "'serving.searchRankCount' must be an integer in 0...100000"),
    (["FUNNEL_SERVING_RERANK_COUNT": "0"], "'serving.rerankCount' must be an integer in 1...100000"),
    (["FUNNEL_SERVER_TRANSPORT": "grpc"], "'server.transport' must be one of nio-http2, grpc-swift, not 'grpc'"),
    (["FUNNEL_SERVER_MAX_RUNNING_CALLS": "0"], "'server.maxRunningCalls' must be an integer in 1...100000"),
    (["FUNNEL_SERVER_MAX_BUFFERED_MEGABYTES": "1"], "'server.maxBufferedMegabytes' must be an integer in 8...1000000"),
  ])
  func badEnvironmentValuesNameTheKey(environment: [String: String], expected: String) {
    var options = ServerOptions()
    let error = #expect(throws: FunnelError.self) { try options.apply(environment: environment) }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
  }

  /// The gRPC listener's limits come from the `server` section (or FUNNEL_SERVER_*); 0 turns the
  /// idle timeout and keepalive off.
  @Test func listenerLimitsAreConfigured() throws {
    let path = try Self.file(#"{"server": {"maxConnections": 100, "maxRunningCalls": 8, "maxQueueWaitMs": 250, "maxBufferedMegabytes": 64, "idleTimeoutSeconds": 0}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    #expect(options.limits.idleTimeout == .seconds(300))
    try options.apply(configFile: path)
    try options.apply(environment: ["FUNNEL_SERVER_KEEPALIVE_SECONDS": "0", "FUNNEL_SERVER_MAX_CONNECTIONS_PER_PEER": "10"])
    #expect(options.limits.maxConnections == 100 && options.limits.maxConnectionsPerPeer == 10)
    #expect(options.limits.maxRunningCalls == 8 && options.limits.maxRunningCallsPerConnection == 6)
    #expect(options.limits.maxQueueWait == .milliseconds(250) && options.limits.maxBufferedBytes == 64 << 20)
    #expect(options.limits.idleTimeout == nil && options.limits.keepaliveInterval == nil)
  }

  @Test func unknownFileKeysAreErrors() throws {
    let path = try Self.file(#"{"server": {"prot": 1}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    let error = #expect(throws: FunnelError.self) { try options.apply(configFile: path) }
    #expect(error?.message.contains("unknown key 'server.prot'") == true, "\(error?.message ?? "")")
  }
}
