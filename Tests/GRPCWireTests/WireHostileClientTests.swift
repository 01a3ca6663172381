import CompressNIO
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization
import Testing

@testable import GRPCWire

/// What careless and hostile clients send, over raw HTTP/2 frames against a real server on
/// loopback: each case fails alone, and the server keeps serving the calls around it.
@Suite struct WireHostileClientTests {
  static func withRaw(_ observed: Observed = Observed(), configure: (inout WireServer.Configuration) -> Void = { _ in },
                      settings: HTTP2Settings = [HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 20)],
                      _ body: (RawHTTP2Client, WireServer, Int, any EventLoopGroup) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    try await WireServerTests.withServer(observed, configure: configure) { _, server in
      let port = try await server.listeningPort()
      let raw = try await RawHTTP2Client.connect(port: port, group: group, settings: settings)
      try await body(raw, server, port, group)
      await raw.close()
    }
    try await group.shutdownGracefully()
  }

  /// The regression of the crash: a legal eight-digit timeout in hours used to trap on overflow.
  /// Then metadata over the limit fails only its own stream; the connection serves the next call.
  @Test func hugeTimeoutsAndOversizedMetadataFailAlone() async throws {
    try await Self.withRaw { raw, _, _, _ in
      for (id, timeout) in [(1, "2562048H"), (3, "99999999H"), (5, "99999999u")] {
        try await raw.call(id, RawHTTP2Client.headers("/t.Test/Reverse", [("grpc-timeout", timeout)]), message: [1, 2, 3])
      }
      #expect(try await raw.wait { [1, 3, 5].allSatisfy { raw.status(on: $0) != nil } })
      #expect([1, 3, 5].map { raw.status(on: $0) } == ["0", "0", "0"])
      #expect(raw.messages(on: 1).first?.bytes == [3, 2, 1])
      // 20 KB of metadata against the 16 KiB limit.
      try await raw.call(7, RawHTTP2Client.headers("/t.Test/Reverse", [("x-big", String(repeating: "a", count: 20_000))]),
                         message: [1])
      try await raw.call(9, RawHTTP2Client.headers("/t.Test/Reverse"), message: [4, 5])
      #expect(try await raw.wait { raw.status(on: 7) != nil && raw.status(on: 9) != nil })
      #expect(raw.status(on: 7) == String(RPCError.Code.resourceExhausted.rawValue))
      #expect(raw.responseHeaders(on: 7)?.first(name: "grpc-message")?.contains("metadata") == true)
      #expect(raw.status(on: 9) == "0")
      #expect(raw.messages(on: 9).first?.bytes == [5, 4])
      #expect(raw.goAway == nil && !raw.isClosed)
    }
  }

  /// gzip and deflate requests are inflated; responses come compressed in the request's encoding
  /// when the client accepts it; a zip bomb fails with RESOURCE_EXHAUSTED and the connection goes on.
  @Test func compressedMessagesBothWays() async throws {
    try await Self.withRaw { raw, _, _, _ in
      let message = (0..<3_000).map { UInt8(truncatingIfNeeded: $0 % 11) }
      for (id, encoding) in [(1, WireMessageEncoding.gzip), (3, .deflate)] {
        let compressed = try #require(encoding.compress(message))
        try await raw.call(id, RawHTTP2Client.headers("/t.Test/Reverse", [("grpc-encoding", encoding.rawValue),
                                                                         ("grpc-accept-encoding", "identity,deflate,gzip")]),
                           message: Array(compressed.readableBytesView), compressed: true)
      }
      #expect(try await raw.wait { raw.status(on: 1) != nil && raw.status(on: 3) != nil })
      for (id, encoding) in [(1, WireMessageEncoding.gzip), (3, .deflate)] {
        #expect(raw.status(on: id) == "0")
        #expect(raw.responseHeaders(on: id)?.first(name: "grpc-encoding") == encoding.rawValue)
        let reply = try #require(raw.messages(on: id).first)
        #expect(reply.compressed)
        #expect(Array(try encoding.decompress(ByteBuffer(bytes: reply.bytes), maxBytes: 10_000).readableBytesView) == message.reversed())
      }
      var zeros = ByteBuffer(repeating: 0, count: 16 << 20)
      let bomb = try zeros.compress(with: .gzip())
      try await raw.call(5, RawHTTP2Client.headers("/t.Test/Reverse", [("grpc-encoding", "gzip")]),
                         message: Array(bomb.readableBytesView), compressed: true)
      try await raw.call(7, RawHTTP2Client.headers("/t.Test/Reverse", [("grpc-encoding", "br")]), message: [1])
      #expect(try await raw.wait { raw.status(on: 5) != nil && raw.status(on: 7) != nil })
      #expect(raw.status(on: 5) == String(RPCError.Code.resourceExhausted.rawValue))
      #expect(raw.status(on: 7) == String(RPCError.Code.unimplemented.rawValue))
      #expect(raw.responseHeaders(on: 7)?.first(name: "grpc-accept-encoding") == WireMessageEncoding.accepted)
    }
  }

  /// One connection flooding calls cannot take every slot: a bystander on another connection is
  /// served, health calls (exempt) answer at once, calls over the queues are refused, calls that
  /// waited too long are refused, and the held calls finish once released.
  @Test func admissionKeepsBystandersServed() async throws {
    let observed = Observed()
    try await Self.withRaw(observed, configure: {
      $0.maxRunningCalls = 4
      $0.maxRunningCallsPerConnection = 3
      $0.maxQueuedCallsPerConnection = 5
      $0.maxQueueWait = .milliseconds(400)
    }) { flood, server, port, group in
      let ids = (0..<20).map { 1 + 2 * $0 }
      for id in ids { try await flood.call(id, RawHTTP2Client.headers("/t.Test/Hold"), message: [UInt8(id % 200)]) }
      #expect(try await flood.wait { observed.started.load(ordering: .relaxed) == 3 })
      // 3 run, 5 wait, 12 are refused at once.
      #expect(try await flood.wait { ids.filter { flood.status(on: $0) != nil }.count >= 12 })
      #expect(server.load.runningCalls == 3)
      let bystander = try await RawHTTP2Client.connect(port: port, group: group)
      try await bystander.call(1, RawHTTP2Client.headers("/t.Test/Reverse"), message: [1, 2])
      try await bystander.call(3, RawHTTP2Client.headers("/t.Test/Ping"), message: [])
      try await flood.call(99, RawHTTP2Client.headers("/t.Test/Ping"), message: [])
      #expect(try await bystander.wait(upTo: .seconds(5)) { bystander.status(on: 1) != nil && bystander.status(on: 3) != nil })
      #expect(bystander.status(on: 1) == "0" && bystander.status(on: 3) == "0")
      #expect(try await flood.wait(upTo: .seconds(5)) { flood.status(on: 99) == "0" })
      // The five waiting flood calls are refused once they waited 400 ms.
      #expect(try await flood.wait { ids.filter { flood.status(on: $0) != nil }.count == 17 })
      let exhausted = String(RPCError.Code.resourceExhausted.rawValue)
      #expect(ids.filter { flood.status(on: $0) == exhausted }.count == 17)
      #expect(server.load.queuedCalls == 0)
      observed.release.store(true, ordering: .relaxed)
      #expect(try await flood.wait { ids.allSatisfy { flood.status(on: $0) != nil } })
      #expect(ids.filter { flood.status(on: $0) == "0" }.count == 3)
      #expect(try await flood.wait { server.load.runningCalls == 0 })
      await bystander.close()
    }
  }

  /// A client that keeps its window shut cannot make the server hold more than the budget: calls
  /// past it are refused while the held responses wait.
  @Test func unreadResponsesAreBounded() async throws {
    let shut: HTTP2Settings = [HTTP2Setting(parameter: .initialWindowSize, value: 0)]
    try await Self.withRaw(configure: { $0.maxBufferedBytes = 3_500_000 }, settings: shut) { raw, server, _, _ in
      let million = withUnsafeBytes(of: UInt32(1_000_000).bigEndian, Array.init)
      for id in [1, 3, 5] { try await raw.call(id, RawHTTP2Client.headers("/t.Test/Big"), message: million) }
      #expect(try await raw.wait { server.load.bufferedBytes >= 3_000_000 })
      for id in [7, 9] { try await raw.call(id, RawHTTP2Client.headers("/t.Test/Big"), message: million) }
      #expect(try await raw.wait { [7, 9].allSatisfy { raw.status(on: $0) != nil } })
      #expect(raw.status(on: 7) == String(RPCError.Code.resourceExhausted.rawValue))
      #expect([1, 3, 5].allSatisfy { raw.status(on: $0) == nil }, "the held responses still wait for the client")
      #expect(server.load.bufferedBytes >= 3_000_000)
    }
  }

  /// Unread responses' streams are reset after the write timeout, which frees their bytes; the
  /// connection stays up.
  @Test func unreadResponsesAreResetAfterTheWriteTimeout() async throws {
    let shut: HTTP2Settings = [HTTP2Setting(parameter: .initialWindowSize, value: 0)]
    try await Self.withRaw(configure: { $0.responseWriteTimeout = .milliseconds(300) }, settings: shut) { raw, server, _, _ in
      let million = withUnsafeBytes(of: UInt32(1_000_000).bigEndian, Array.init)
      for id in [1, 3] { try await raw.call(id, RawHTTP2Client.headers("/t.Test/Big"), message: million) }
      #expect(try await raw.wait {
        [1, 3].allSatisfy { id in raw.frames(on: id).contains { if case .rstStream = $0.payload { true } else { false } } }
      })
      #expect(try await raw.wait { server.load.bufferedBytes == 0 })
      #expect(!raw.isClosed)
    }
  }

  /// Connections over the per-peer limit are refused with GOAWAY (ENHANCE_YOUR_CALM). (The test
  /// server's grpc-swift client may hold a connection of its own: the limit counts it.)
  @Test func excessConnectionsAreRefused() async throws {
    try await Self.withRaw(configure: { $0.maxConnectionsPerPeer = 3 }) { first, server, port, group in
      _ = try await first.wait { server.load.connections >= 1 }
      let second = try await RawHTTP2Client.connect(port: port, group: group)
      var extra: [RawHTTP2Client] = []
      while server.load.connections < 3 { extra.append(try await RawHTTP2Client.connect(port: port, group: group)) }
      let third = try await RawHTTP2Client.connect(port: port, group: group)
      #expect(try await third.wait { third.isClosed })
      #expect(third.goAway?.code == .enhanceYourCalm)
      #expect(!first.isClosed && !second.isClosed)
      await second.close()
      for client in extra { await client.close() }
    }
  }

  /// Idle connections get GOAWAY (NO_ERROR) and are closed.
  @Test func idleConnectionsAreClosed() async throws {
    try await Self.withRaw(configure: { $0.idleTimeout = .milliseconds(300) }) { idle, server, _, _ in
      let closed = try await idle.wait { idle.isClosed }
      #expect(closed)
      #expect(idle.goAway?.code == HTTP2ErrorCode.noError)
      let gone = try await idle.wait { server.load.connections == 0 }
      #expect(gone)
    }
  }

  /// A live client that answers the server's PINGs (swift-nio-http2 acknowledges them itself) keeps
  /// its connection through many keepalive rounds.
  @Test func livePeersAnsweringPingStayConnected() async throws {
    try await Self.withRaw(configure: {
      $0.keepaliveInterval = .milliseconds(100)
      $0.keepaliveTimeout = .milliseconds(300)
      $0.idleTimeout = nil
    }) { raw, server, _, _ in
      try await Task.sleep(for: .seconds(2))
      let pings = raw.allFrames.filter { if case .ping(_, ack: false) = $0.payload { true } else { false } }.count
      #expect(pings >= 2, "the server pinged the quiet connection")
      #expect(!raw.isClosed && server.load.connections >= 1)
    }
  }

  /// A peer that stops answering (no frame at all, not even a PING's ACK) is closed after the
  /// keepalive interval and timeout.
  @Test func deadPeersAreDetectedByPing() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    try await WireServerTests.withServer(configure: {
      $0.keepaliveInterval = .milliseconds(300)
      $0.keepaliveTimeout = .milliseconds(300)
    }) { _, server in
      let port = try await server.listeningPort()
      let silent = Silent()
      _ = try await ClientBootstrap(group: group).channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(silent) }
      }.connect(host: "127.0.0.1", port: port).get()
      let clock = ContinuousClock()
      let start = clock.now
      while !silent.closed.load(ordering: .relaxed), clock.now - start < .seconds(20) { try await Task.sleep(for: .milliseconds(20)) }
      let (closed, pinged) = (silent.closed.load(ordering: .relaxed), silent.sawPing.load(ordering: .relaxed))
      #expect(closed, "the server closes a connection whose peer stays silent")
      #expect(pinged, "after sending it a PING")
    }
    try await group.shutdownGracefully()
  }
}

/// Sends HTTP/2's client preface and an empty SETTINGS frame as it connects, then reads raw bytes
/// and answers nothing; notes a PING frame (type 6) in what the server sent.
private final class Silent: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer
  let closed = Atomic<Bool>(false)
  let sawPing = Atomic<Bool>(false)
  func channelActive(context: ChannelHandlerContext) {
    var hello = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    hello.writeBytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
    context.writeAndFlush(wrapOutboundOut(hello), promise: nil)
  }
  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let bytes = Array(unwrapInboundIn(data).readableBytesView)
    // Good enough for a test: a 9-byte frame header whose type byte is 6 with an 8-byte payload.
    for i in 0..<max(0, bytes.count - 8) where bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 8 && bytes[i + 3] == 6 {
      sawPing.store(true, ordering: .relaxed)
    }
  }
  func channelInactive(context: ChannelHandlerContext) { closed.store(true, ordering: .relaxed) }
}
