import FeatureStore
import Foundation
import FunnelGRPC
import FunnelTestSupport
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import RedisStore
import Serving
import Synchronization
import Testing

/// Redis killed while clients send `Track` calls: every event is either accepted or refused with
/// UNAVAILABLE (never INTERNAL), the counts add up to what was sent, and no accepted event is lost
/// (Redis runs with `appendfsync always`, so an acknowledged append survives its crash). Runs its
/// own redis-server (Debian's, as CI installs it) on a free port in a temporary directory.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") || StoreEnvironment.isCI,
                "redis-server is not installed"))
struct TrackOutageTests {
  static func startRedis(port: Int, directory: URL) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                         "--appendfsync", "always", "--dir", directory.path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  static func waitFor(_ client: RedisClient, up: Bool) async throws {
    let clock = ContinuousClock()
    let start = clock.now
    while ((try? await client.command(["PING"])) == .status("PONG")) != up, clock.now - start < .seconds(10) {
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  @Test func everyEventIsStoredOrRefusedWithUnavailable() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-outage-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let port = LocalRedis.freePort()  // not a random pick in the ephemeral range another test may hold
    let first = try Self.startRedis(port: port, directory: directory)
    defer { kill(first.processIdentifier, SIGKILL) }
    let client = try RedisClient(url: "redis://127.0.0.1:\(port)", timeoutMs: 500)
    try await Self.waitFor(client, up: true)
    let realtime = RedisFeatureStore(client: client, keyPrefix: "funnel:outage:")
    let stream = RedisEventStream(client: client, store: realtime)
    let (engine, store) = TestEngines.engine(events: TeeEventSink(primary: stream, mirror: EmbeddedFeatureStore()))
    let items = TestEngines.store.items.map(\.id)

    let tally = Tally()
    try await TestServers.withServer(engine: engine, store: store) { serverPort in
      let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: serverPort), transportSecurity: .plaintext)
      try await withGRPCClient(transport: transport) { grpc in
        let collector = Funnel_V1_EventCollector.Client(wrapping: grpc)
        // Kill Redis once calls are being accepted, and bring it back (with its append-only file) once
        // some met the outage: driven by what the senders saw, not by a timetable a loaded machine misses.
        async let outage: Process = {
          let clock = ContinuousClock()
          let limit = clock.now + .seconds(60)
          while tally.accepted.withLock({ $0.count }) < 40, clock.now < limit { try await Task.sleep(for: .milliseconds(10)) }
          kill(first.processIdentifier, SIGKILL)
          first.waitUntilExit()
          while tally.refused.load(ordering: .relaxed) < 20, clock.now < limit { try await Task.sleep(for: .milliseconds(10)) }
          let restarted = try Self.startRedis(port: port, directory: directory)
          tally.restarted.withLock { $0 = restarted }
          return restarted
        }()
        try await withThrowingTaskGroup(of: Void.self) { senders in
          for sender in 0..<4 {
            senders.addTask {
              // Until the restarted Redis has taken some calls (at most 2,000 calls per sender).
              var afterRestart = 0
              for call in 0..<2_000 where afterRestart < 10 {
                if tally.restarted.withLock({ $0 != nil }) { afterRestart += 1 }
                var request = Funnel_V1_TrackRequest()
                request.events = (0..<5).map { i in
                  var event = Funnel_V1_Event()
                  event.eventID = "s\(sender)-c\(call)-e\(i)"
                  event.userID = "outage-user-\(sender)"
                  event.itemID = items[(call * 5 + i) % items.count]
                  event.type = .view
                  return event
                }
                tally.sent.add(5, ordering: .relaxed)
                do {
                  let response = try await collector.track(request)
                  #expect(response.accepted + response.duplicates == 5 && response.rejected.isEmpty)
                  tally.accepted.withLock { $0 += request.events.map(\.eventID) }
                } catch let error as RPCError {
                  if error.code == .unavailable {
                    tally.refused.add(5, ordering: .relaxed)
                  } else {
                    tally.otherCodes.withLock { $0.append(error.code) }
                  }
                }
                try await Task.sleep(for: .milliseconds(10))
              }
            }
          }
          try await senders.waitForAll()
        }
        _ = try await outage
      }
    }
    defer { if let restarted = tally.restarted.withLock({ $0 }) { kill(restarted.processIdentifier, SIGKILL) } }
    let acceptedIDs = tally.accepted.withLock { $0 }
    let (refused, sent) = (tally.refused.load(ordering: .relaxed), tally.sent.load(ordering: .relaxed))
    #expect(tally.otherCodes.withLock { $0 }.isEmpty, "only UNAVAILABLE while Redis is down")
    #expect(refused > 0, "some calls met the outage")
    #expect(acceptedIDs.count + refused == sent)
    // Every event a client was told is accepted is in the stream after Redis's crash and restart.
    try await Self.waitFor(client, up: true)
    #expect(try await stream.length() >= acceptedIDs.count)
    // One shard: every remembered id carries the tag of shard 0.
    let remembered = try await client.pipeline(acceptedIDs.map { ["EXISTS", "funnel:outage:in:{0}:" + $0] })
    #expect(remembered.allSatisfy { $0 == .integer(1) }, "every accepted event id survived the crash")
  }
}

/// What the senders saw. Thread-safe.
private final class Tally: Sendable {
  let accepted = Mutex<[String]>([])
  let refused = Atomic<Int>(0)
  let sent = Atomic<Int>(0)
  let otherCodes = Mutex<[RPCError.Code]>([])
  let restarted = Mutex<Process?>(nil)
}
