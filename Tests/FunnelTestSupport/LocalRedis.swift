import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Redis servers a test starts and stops itself (Debian's redis-server, as CI installs it): a Redis
/// Cluster of primaries with replicas, or a primary, its replica and a Sentinel. Each server runs
/// in its own temporary directory on free loopback ports, its PID recorded under `$FUNNEL_RUN` when
/// set (so `funnel_stop_stores` reaps what a crashed test left). Blocking work (starting, waiting,
/// `redis-cli --cluster create`) runs on a thread of its own, never the cooperative pool.
public final class LocalRedis: Sendable {
  /// One server.
  public struct Server: Sendable {
    public let port: Int
    public let process: Int32
    /// The redis-server arguments past port, bind, save and dir (to restart it as it was).
    var arguments: [String] = []
  }

  /// The servers, in start order (a cluster's primaries are chosen by redis-cli).
  public let servers: Mutex<[Server]>
  let directory: URL

  /// Whether redis-server is installed (tests skip by hand without it, never in CI).
  public static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") }

  private init(servers: [Server], directory: URL) {
    self.servers = Mutex(servers)
    self.directory = directory
  }

  deinit { stopAll() }

  /// Kills every server (SIGKILL) and removes the directory.
  public func stopAll() {
    for server in servers.withLock({ $0 }) { Glibc.kill(server.process, SIGKILL) }
    try? FileManager.default.removeItem(at: directory)
  }

  /// A free loopback TCP port (bound and released).
  public static func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        _ = bind(fd, pointer, length)
        return getsockname(fd, pointer, &length)
      }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Runs a program to completion; returns its standard output, throws on a non-zero exit.
  @discardableResult
  static func run(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw LocalRedisFailure(message: "\(program) \(arguments.joined(separator: " ")): exit \(process.terminationStatus): \(output)")
    }
    return output
  }

  static func startServer(_ arguments: [String], port: Int, directory: URL) throws -> Server {
    let dir = directory.appendingPathComponent("\(port)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--dir", dir.path] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    if let run = ProcessInfo.processInfo.environment["FUNNEL_RUN"] {
      try? "\(process.processIdentifier)\n".write(toFile: "\(run)/test-redis-\(port).pid", atomically: true, encoding: .utf8)
    }
    let server = Server(port: port, process: process.processIdentifier, arguments: arguments)
    for _ in 0..<100 {
      if (try? run("/usr/bin/redis-cli", ["-p", "\(port)", "ping"]))?.contains("PONG") == true { return server }
      usleep(50_000)
    }
    throw LocalRedisFailure(message: "redis-server on port \(port) did not start")
  }

  /// `redis-cli -p port args...` output.
  public static func cli(_ port: Int, _ arguments: [String]) throws -> String {
    try run("/usr/bin/redis-cli", ["-p", "\(port)"] + arguments)
  }

  /// A cluster of `primaries` primaries with `replicas` replicas each (`redis-cli --cluster
  /// create`), failing over after `nodeTimeoutMs` of silence; returns once every node says the
  /// cluster is ok.
  public static func cluster(primaries: Int = 3, replicas: Int = 1, nodeTimeoutMs: Int = 1_000) async throws -> LocalRedis {
    try await FunnelTestSupport.offPool {
      let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-cluster-\(UInt64.random(in: 0...UInt64.max))")
      var servers: [Server] = []
      do {
        for _ in 0..<(primaries * (1 + replicas)) {
          let (port, bus) = (freePort(), freePort())
          servers.append(try startServer(["--cluster-enabled", "yes", "--cluster-port", "\(bus)",
                                          "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "\(nodeTimeoutMs)",
                                          "--appendonly", "no"], port: port, directory: directory))
        }
        try run("/usr/bin/redis-cli", ["--cluster", "create"] + servers.map { "127.0.0.1:\($0.port)" }
                + ["--cluster-replicas", "\(replicas)", "--cluster-yes"])
        let cluster = LocalRedis(servers: servers, directory: directory)
        try cluster.waitUntilClusterOK(ports: servers.map(\.port))
        return cluster
      } catch {
        for server in servers { Glibc.kill(server.process, SIGKILL) }
        throw error
      }
    }
  }

  /// Waits (up to 30 s) until every node in `ports` reports `cluster_state:ok` and the same
  /// number of primaries holding slots.
  public func waitUntilClusterOK(ports: [Int]) throws {
    for _ in 0..<600 {
      let ok = ports.allSatisfy { port in (try? Self.cli(port, ["cluster", "info"]))?.contains("cluster_state:ok") == true }
      if ok { return }
      usleep(50_000)
    }
    throw LocalRedisFailure(message: "the cluster on \(ports) did not reach cluster_state:ok")
  }

  /// `redis-cluster://` URL naming every node as a seed.
  public var clusterURL: String {
    "redis-cluster://" + servers.withLock { $0 }.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
  }

  /// The port of a primary holding slots (`CLUSTER NODES` as seen by a live node).
  public func primaryPorts() throws -> [Int] {
    for server in servers.withLock({ $0 }) {
      guard let nodes = try? Self.cli(server.port, ["cluster", "nodes"]) else { continue }
      return nodes.split(separator: "\n").compactMap { line -> Int? in
        let fields = line.split(separator: " ")
        guard fields.count >= 9, fields[2].contains("master"), !fields[2].contains("fail"),
              let address = fields[1].split(separator: "@").first, let colon = address.lastIndex(of: ":") else { return nil }
        return Int(address[address.index(after: colon)...])
      }.sorted()
    }
    throw LocalRedisFailure(message: "no cluster node answered CLUSTER NODES")
  }

  /// Starts the server once on `port` again, with its arguments and directory (a cluster node
  /// rejoins with its `nodes.conf`: a failed-over primary comes back as a replica).
  public func restart(port: Int, arguments: [String]) async throws {
    let directory = self.directory
    let server = try await FunnelTestSupport.offPool { try Self.startServer(arguments, port: port, directory: directory) }
    servers.withLock { $0.append(server) }
  }

  /// The arguments the server on `port` was started with.
  public func arguments(of port: Int) -> [String] {
    servers.withLock { $0.first { $0.port == port }?.arguments ?? [] }
  }

  /// Kills the server on `port` (SIGKILL) and forgets it.
  public func kill(port: Int) {
    servers.withLock { servers in
      for server in servers where server.port == port { Glibc.kill(server.process, SIGKILL) }
      servers.removeAll { $0.port == port }
    }
  }

  /// A primary, a replica of it and one Sentinel watching it as `name` (quorum 1, failover after
  /// `downAfterMs`); returns the Sentinel URL's host list and the two data ports.
  public static func sentinelGroup(name: String = "funnel", downAfterMs: Int = 1_000) async throws
    -> (redis: LocalRedis, sentinelPort: Int, primaryPort: Int, replicaPort: Int) {
    try await FunnelTestSupport.offPool {
      let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-sentinel-\(UInt64.random(in: 0...UInt64.max))")
      var servers: [Server] = []
      do {
        let (primaryPort, replicaPort, sentinelPort) = (freePort(), freePort(), freePort())
        servers.append(try startServer(["--appendonly", "no"], port: primaryPort, directory: directory))
        servers.append(try startServer(["--appendonly", "no", "--replicaof", "127.0.0.1", "\(primaryPort)"],
                                       port: replicaPort, directory: directory))
        let config = directory.appendingPathComponent("sentinel.conf")
        try """
          port \(sentinelPort)
          bind 127.0.0.1
          dir \(directory.path)
          sentinel monitor \(name) 127.0.0.1 \(primaryPort) 1
          sentinel down-after-milliseconds \(name) \(downAfterMs)
          sentinel failover-timeout \(name) 10000
          sentinel parallel-syncs \(name) 1

          """.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = [config.path, "--sentinel"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        servers.append(Server(port: sentinelPort, process: process.processIdentifier))
        if let run = ProcessInfo.processInfo.environment["FUNNEL_RUN"] {
          try? "\(process.processIdentifier)\n".write(toFile: "\(run)/test-redis-\(sentinelPort).pid", atomically: true, encoding: .utf8)
        }
        let redis = LocalRedis(servers: servers, directory: directory)
        // Ready when the Sentinel names the primary and sees its replica.
        for _ in 0..<200 {
          let replicas = (try? cli(sentinelPort, ["sentinel", "replicas", name])) ?? ""
          if replicas.contains("\(replicaPort)") { return (redis, sentinelPort, primaryPort, replicaPort) }
          usleep(50_000)
        }
        throw LocalRedisFailure(message: "the Sentinel on \(sentinelPort) never saw the replica")
      } catch {
        for server in servers { Glibc.kill(server.process, SIGKILL) }
        throw error
      }
    }
  }
}

/// A local Redis failed to start or answer.
public struct LocalRedisFailure: Error, CustomStringConvertible {
  public let message: String
  public var description: String { message }
}
