import GRPCCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Synchronization
import Testing

@testable import GRPCWire

/// A stream's life: the pure state machine for every state and event, then the connection handler
/// over HTTP/2 frames on NIO's async testing channel for each way a call ends (half-close, the
/// server answering first, RST_STREAM, the deadline, GOAWAY) and for a flow-control stall.
@Suite struct WireStreamLifecycleTests {
  enum Event: CaseIterable { case clientFinished, headersWritten, close }

  static func apply(_ event: Event, to state: WireStreamLifecycle) -> (Bool, WireStreamLifecycle) {
    var next = state
    let fitted = switch event {
    case .clientFinished: next.clientFinished()
    case .headersWritten: next.headersWritten()
    case .close: next.close()
    }
    return (fitted, next)
  }

  /// Every state x event: whether it fits, and where it leads (an event that does not fit changes nothing).
  @Test func everyTransition() {
    let table: [(WireStreamLifecycle, Event, Bool, WireStreamLifecycle)] = [
      (.open, .clientFinished, true, .halfClosed),
      (.open, .headersWritten, true, .responding(clientDone: false)),
      (.open, .close, true, .closed),
      (.halfClosed, .clientFinished, false, .halfClosed),
      (.halfClosed, .headersWritten, true, .responding(clientDone: true)),
      (.halfClosed, .close, true, .closed),
      (.responding(clientDone: false), .clientFinished, true, .responding(clientDone: true)),
      (.responding(clientDone: false), .headersWritten, false, .responding(clientDone: false)),
      (.responding(clientDone: false), .close, true, .closed),
      (.responding(clientDone: true), .clientFinished, false, .responding(clientDone: true)),
      (.responding(clientDone: true), .headersWritten, false, .responding(clientDone: true)),
      (.responding(clientDone: true), .close, true, .closed),
      (.closed, .clientFinished, false, .closed),
      (.closed, .headersWritten, false, .closed),
      (.closed, .close, false, .closed),
    ]
    #expect(table.count == 5 * Event.allCases.count)
    for (state, event, fits, next) in table {
      let (fitted, reached) = Self.apply(event, to: state)
      #expect(fitted == fits && reached == next, "\(state) + \(event)")
    }
  }

  @Test func derivedProperties() {
    let cases: [(WireStreamLifecycle, clientDone: Bool, headersSent: Bool, closed: Bool)] = [
      (.open, false, false, false), (.halfClosed, true, false, false), (.responding(clientDone: false), false, true, false),
      (.responding(clientDone: true), true, true, false), (.closed, true, false, true),
    ]
    for (state, clientDone, headersSent, closed) in cases {
      #expect(state.clientDone == clientDone && state.headersSent == headersSent && state.isClosed == closed, "\(state)")
    }
  }

  // MARK: the handler over frames

  static let echo = "/test.Wire/Echo"
  static let stream = "/test.Wire/Stream"

  /// A request's HEADERS.
  static func headers(_ path: String, timeout: String? = nil) -> HTTP2Frame.FramePayload {
    var headers: HPACKHeaders = [":method": "POST", ":scheme": "http", ":path": path, ":authority": "test",
                                 "content-type": "application/grpc", "te": "trailers"]
    if let timeout { headers.add(name: "grpc-timeout", value: timeout) }
    return .headers(.init(headers: headers))
  }

  /// One gRPC message as a DATA frame.
  static func message(_ bytes: [UInt8], end: Bool) -> HTTP2Frame.FramePayload {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(bytes.count))
    buffer.writeBytes(bytes)
    return .data(.init(data: .byteBuffer(buffer), endStream: end))
  }

  /// A connection handler on a testing channel, serving `router`.
  static func connection(_ router: WireRouter, configure: (inout WireServer.Configuration) -> Void = { _ in })
    async throws -> NIOAsyncTestingChannel
  {
    var configuration = WireServer.Configuration()
    configure(&configuration)
    let core = WireServerCore(router: router, executor: nil, configuration: configuration, logger: Logger(label: "wire-test"))
    let channel = try await NIOAsyncTestingChannel { channel in
      try channel.pipeline.syncOperations.addHandler(WireConnectionHandler(core: core))
    }
    try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
    return channel
  }

  /// The next frame the handler writes on a stream (or GOAWAY), within 5 s: the connection's own
  /// window updates are not the stream's life. Polls (`waitForOutboundWrite` cannot be cancelled,
  /// so it could not be given a time limit).
  static func nextFrame(_ channel: NIOAsyncTestingChannel) async throws -> HTTP2Frame {
    for _ in 0..<500 {
      await channel.testingEventLoop.run()
      while let frame = try await channel.readOutbound(as: HTTP2Frame.self) {
        if frame.streamID != .rootStream { return frame }
        if case .goAway = frame.payload { return frame }
      }
      try await Task.sleep(for: .milliseconds(10))
    }
    throw RPCError(code: .deadlineExceeded, message: "no frame within 5 s")
  }

  /// Frames written on streams so far (connection window updates left out).
  static func pendingStreamFrames(_ channel: NIOAsyncTestingChannel) async throws -> [HTTP2Frame] {
    await channel.testingEventLoop.run()
    var frames: [HTTP2Frame] = []
    while let frame = try await channel.readOutbound(as: HTTP2Frame.self) {
      if frame.streamID != .rootStream { frames.append(frame) }
    }
    return frames
  }

  static func send(_ channel: NIOAsyncTestingChannel, _ payload: HTTP2Frame.FramePayload, on id: Int = 1) async throws {
    try await channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(id), payload: payload))
  }

  static func status(_ frame: HTTP2Frame) -> String? {
    guard case .headers(let headers) = frame.payload, headers.endStream else { return nil }
    return headers.headers.first(name: "grpc-status")
  }

  static func isReset(_ frame: HTTP2Frame) -> Bool {
    if case .rstStream = frame.payload { return true }
    return false
  }

  /// Whether `condition` becomes true within 5 s.
  static func eventually(_ condition: @Sendable () -> Bool) async -> Bool {
    for _ in 0..<500 where !condition() { try? await Task.sleep(for: .milliseconds(10)) }
    return condition()
  }

  /// open -> halfClosed -> responding -> closed: headers, the message, OK trailers; no reset (the
  /// client had finished).
  @Test func aUnaryCallAfterHalfCloseIsAnsweredAndClosed() async throws {
    var router = WireRouter()
    router.register(Self.echo, .unary { bytes, _ in WireReply(Array(bytes.readableBytesView)) })
    let channel = try await Self.connection(router)
    try await Self.send(channel, Self.headers(Self.echo))
    try await Self.send(channel, Self.message([1, 2, 3], end: true))
    let head = try await Self.nextFrame(channel)
    guard case .headers(let responseHeaders) = head.payload else { Issue.record("expected headers, got \(head)"); return }
    #expect(responseHeaders.headers.first(name: ":status") == "200" && !responseHeaders.endStream)
    let data = try await Self.nextFrame(channel)
    guard case .data(let body) = data.payload, case .byteBuffer(let bytes) = body.data else { Issue.record("expected data"); return }
    #expect(Array(bytes.readableBytesView) == [0, 0, 0, 0, 3, 1, 2, 3])
    #expect(Self.status(try await Self.nextFrame(channel)) == "0")
    #expect(try await Self.pendingStreamFrames(channel).isEmpty, "no reset after the client finished")
  }

  /// A unary reply's metadata goes into the response headers; names the transport owns, or not
  /// lowercase, and values with control characters are dropped.
  @Test func aUnaryReplysMetadataIsInTheResponseHeaders() async throws {
    var router = WireRouter()
    router.register(Self.echo, .unary { bytes, _ in
      WireReply(Array(bytes.readableBytesView), metadata: [("traceparent", "00-abc-def-01"), ("grpc-status", "13"),
                                                           ("content-type", "text/plain"), ("Upper", "x"), ("split", "a\r\nb")])
    })
    let channel = try await Self.connection(router)
    try await Self.send(channel, Self.headers(Self.echo))
    try await Self.send(channel, Self.message([1], end: true))
    let head = try await Self.nextFrame(channel)
    guard case .headers(let response) = head.payload else { Issue.record("expected headers, got \(head)"); return }
    #expect(response.headers.first(name: "traceparent") == "00-abc-def-01")
    #expect(response.headers.first(name: "grpc-status") == nil && response.headers[canonicalForm: "content-type"] == ["application/grpc"])
    #expect(response.headers.first(name: "upper") == nil && response.headers.first(name: "split") == nil)
    _ = try await Self.nextFrame(channel)
    #expect(Self.status(try await Self.nextFrame(channel)) == "0")
  }

  /// The server answers while the client still sends: after the status it resets the stream
  /// (NO_ERROR), as RFC 9113 section 8.1 asks.
  @Test func answeringBeforeTheClientFinishesResetsTheStream() async throws {
    var router = WireRouter()
    router.register(Self.stream, .streaming { _, writer, _ in try await writer.write([7]) })
    let channel = try await Self.connection(router)
    try await Self.send(channel, Self.headers(Self.stream))
    var frames: [HTTP2Frame] = []
    while frames.last.map(Self.isReset) != true, frames.count < 5 { frames.append(try await Self.nextFrame(channel)) }
    #expect(frames.count == 4, "\(frames.map(\.payload))")
    #expect(Self.status(frames[2]) == "0")
    if case .rstStream(let code) = frames[3].payload { #expect(code == .noError) } else { Issue.record("no reset: \(frames)") }
  }

  /// RST_STREAM from the client: the handler's task is cancelled and nothing more is written.
  @Test func aClientResetCancelsTheCall() async throws {
    let cancelled = Atomic(false)
    var router = WireRouter()
    router.register(Self.stream, .streaming { _, _, _ in
      do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.store(true, ordering: .relaxed) }
    })
    let channel = try await Self.connection(router)
    try await Self.send(channel, Self.headers(Self.stream))
    try await Self.send(channel, .rstStream(.cancel))
    #expect(await Self.eventually { cancelled.load(ordering: .relaxed) })
    #expect(try await Self.pendingStreamFrames(channel).isEmpty, "nothing is written on a reset stream")
  }

  /// The deadline passes: DEADLINE_EXCEEDED (trailers only: nothing was written yet), the handler
  /// cancelled, no reset (the client had finished).
  @Test func theDeadlineEndsTheCall() async throws {
    let cancelled = Atomic(false)
    var router = WireRouter()
    router.register(Self.echo, .unary { _, _ in
      do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.store(true, ordering: .relaxed) }
      return WireReply([])
    })
    let channel = try await Self.connection(router)
    try await Self.send(channel, Self.headers(Self.echo, timeout: "100m"))
    try await Self.send(channel, Self.message([1], end: true))
    await channel.testingEventLoop.advanceTime(by: .milliseconds(150))
    let frame = try await Self.nextFrame(channel)
    #expect(Self.status(frame) == String(RPCError.Code.deadlineExceeded.rawValue))
    if case .headers(let trailers) = frame.payload { #expect(trailers.headers.first(name: ":status") == "200") }
    #expect(await Self.eventually { cancelled.load(ordering: .relaxed) })
    #expect(try await Self.pendingStreamFrames(channel).isEmpty)
  }

  /// GOAWAY (here after the connection's last allowed call): it names the last stream processed,
  /// a later stream is ignored, the call in flight is answered, then the connection closes.
  @Test func goAwayDrainsTheCallsInFlightThenCloses() async throws {
    let release = AsyncStream<Void>.makeStream()
    var router = WireRouter()
    router.register(Self.stream, .streaming { _, writer, _ in
      for await _ in release.stream { break }
      try await writer.write([9])
    })
    let channel = try await Self.connection(router) { $0.maxCallsPerConnection = 1 }
    try await Self.send(channel, Self.headers(Self.stream))
    let goAway = try await Self.nextFrame(channel)
    guard case .goAway(let last, _, _) = goAway.payload else { Issue.record("expected GOAWAY, got \(goAway)"); return }
    #expect(last == HTTP2StreamID(1))
    try await Self.send(channel, Self.headers(Self.stream), on: 3)  // above the last stream: ignored
    try await Self.send(channel, Self.message([], end: true))
    release.continuation.yield()
    var frames: [HTTP2Frame] = []
    while frames.last.flatMap(Self.status) == nil, frames.count < 4 { frames.append(try await Self.nextFrame(channel)) }
    #expect(frames.allSatisfy { $0.streamID == HTTP2StreamID(1) }, "\(frames)")
    #expect(frames.last.flatMap(Self.status) == "0")
    #expect(await Self.eventually { !channel.isActive }, "the drained connection closes")
  }

  /// A streaming handler that does not read: once its queued messages exceed
  /// `maxQueuedRequestBytes`, the stream's window is no longer returned (the client stalls); a
  /// reading handler's is.
  @Test(arguments: [false, true])
  func anUnreadStreamStallsOnFlowControl(reads: Bool) async throws {
    var router = WireRouter()
    router.register(Self.stream, .streaming { inbound, _, _ in
      if reads { for try await _ in inbound {} } else { try await Task.sleep(for: .seconds(60)) }
    })
    let channel = try await Self.connection(router) { $0.maxQueuedRequestBytes = 4_096 }
    try await Self.send(channel, Self.headers(Self.stream))
    for _ in 0..<5 { try await Self.send(channel, Self.message([UInt8](repeating: 1, count: 8_000), end: false)) }
    await channel.testingEventLoop.run()
    var streamUpdates = 0
    for _ in 0..<100 {
      try? await Task.sleep(for: .milliseconds(10))
      await channel.testingEventLoop.run()
      while let frame = try await channel.readOutbound(as: HTTP2Frame.self) {
        if case .windowUpdate = frame.payload, frame.streamID == HTTP2StreamID(1) { streamUpdates += 1 }
      }
      if reads && streamUpdates > 0 { break }
    }
    #expect(reads ? streamUpdates > 0 : streamUpdates == 0, "stream WINDOW_UPDATEs: \(streamUpdates)")
  }
}
