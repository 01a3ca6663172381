import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// A lean gRPC client connection for unary calls over HTTP/2 (h2c with prior knowledge): frames
/// written and read by one handler, no channel or task per call. For load generators, where the
/// client shares the machine with the server it measures (README "The transport floor").
/// Identity encoding only. Thread-safe: calls may start from any thread; a call started on the
/// connection's own loop starts without a hop.
public final class WireClientConnection: Sendable {
  private let channel: any Channel
  private let handler: NIOLoopBound<WireClientHandler>
  private let authority: String

  private init(channel: any Channel, handler: NIOLoopBound<WireClientHandler>, authority: String) {
    self.channel = channel
    self.handler = handler
    self.authority = authority
  }

  /// Connects to `host:port` on `loop` (the connection's frames and calls' completions run there).
  /// Throws UNAVAILABLE naming the address when it cannot connect.
  public static func connect(host: String, port: Int, on loop: any EventLoop) async throws -> WireClientConnection {
    let channel: any Channel
    do {
      channel = try await bootstrap(loop).connect(host: host, port: port).get()
    } catch {
      throw RPCError(code: .unavailable, message: "cannot connect to \(host):\(port): \(error)")
    }
    let handler = try await channel.eventLoop.submit {
      NIOLoopBound(try channel.pipeline.syncOperations.handler(type: WireClientHandler.self), eventLoop: channel.eventLoop)
    }.get()
    return WireClientConnection(channel: channel, handler: handler, authority: "\(host):\(port)")
  }

  private static func bootstrap(_ loop: any EventLoop) -> ClientBootstrap {
    ClientBootstrap(group: loop)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          try pipeline.addHandler(NextTickFlushHandler())
          try pipeline.addHandler(NIOHTTP2Handler(mode: .client, initialSettings: [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),  // the server opens no streams
            HTTP2Setting(parameter: .initialWindowSize, value: WireClientHandler.streamWindowBytes),
          ]))
          try pipeline.addHandler(WireClientHandler())
        }
      }
  }

  /// Calls `path` (`/package.Service/Method`) with one serialized request message; returns the
  /// response message's bytes. Throws the call's status as `RPCError` (DEADLINE_EXCEEDED when
  /// `timeout` passes first: the stream is reset and `grpc-timeout` tells the server too).
  public func unary(path: String, request: [UInt8], timeout: Duration?) async throws -> ByteBuffer {
    let loop = channel.eventLoop
    let promise = loop.makePromise(of: ByteBuffer.self)
    let (handler, authority) = (self.handler, self.authority)
    if loop.inEventLoop {
      handler.value.start(path: path, authority: authority, request: request, timeout: timeout, promise: promise)
    } else {
      loop.execute { handler.value.start(path: path, authority: authority, request: request, timeout: timeout, promise: promise) }
    }
    return try await promise.futureResult.get()
  }

  /// Closes the connection; calls in flight fail with UNAVAILABLE.
  public func close() async {
    try? await channel.close()
  }
}

/// The client side's frames: one entry per call in flight, completed by its trailers. On its
/// connection's loop.
final class WireClientHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  static let streamWindowBytes = 1024 * 1024
  private static let connectionWindowBytes = 8 * 1024 * 1024

  private final class Call {
    let promise: EventLoopPromise<ByteBuffer>
    var deframer = GRPCMessageDeframer(maxMessageBytes: 64 * 1024 * 1024)
    var messages: [ByteBuffer] = []
    var timer: Scheduled<Void>?
    var unreturnedBytes = 0
    init(promise: EventLoopPromise<ByteBuffer>) { self.promise = promise }
  }

  private var calls: [HTTP2StreamID: Call] = [:]
  private var nextStreamID = HTTP2StreamID(1)
  private var context: ChannelHandlerContext?
  private var unreturnedConnectionBytes = 0
  private var closed = false

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  /// Drops the context (the pipeline holds the handler; this breaks the cycle when the channel goes).
  func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

  func channelActive(context: ChannelHandlerContext) {
    context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                             payload: .windowUpdate(windowSizeIncrement: Self.connectionWindowBytes - 65_535))),
                  promise: nil)
    context.flush()
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    closed = true
    let failed = calls
    calls.removeAll()
    for call in failed.values {
      call.timer?.cancel()
      call.promise.fail(RPCError(code: .unavailable, message: "the connection closed"))
    }
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    if let error = error as? NIOHTTP2Errors.StreamError {
      finish(error.streamID, .failure(RPCError(code: .internalError, message: "HTTP/2 stream error: \(error.baseError)")))
      return
    }
    context.close(promise: nil)
  }

  func start(path: String, authority: String, request: [UInt8], timeout: Duration?, promise: EventLoopPromise<ByteBuffer>) {
    guard !closed, let context else {
      promise.fail(RPCError(code: .unavailable, message: "the connection is closed"))
      return
    }
    // Client stream IDs are odd and at most 2^31 - 1: after about a billion calls the connection is spent.
    guard Int32(nextStreamID) <= Int32.max - 2 else {
      promise.fail(RPCError(code: .unavailable, message: "the connection has used all its stream IDs; connect again"))
      return
    }
    let id = nextStreamID
    nextStreamID = HTTP2StreamID(Int32(id) + 2)
    let call = Call(promise: promise)
    calls[id] = call
    var headers: HPACKHeaders = [":method": "POST", ":scheme": "http", ":path": path, ":authority": authority,
                                 "content-type": "application/grpc", "te": "trailers"]
    if let timeout {
      let micros = max(1, timeout / .microseconds(1))
      headers.add(name: "grpc-timeout", value: micros < 100_000_000 ? "\(Int(micros))u" : "\(Int(micros / 1_000_000))S")
      call.timer = context.eventLoop.assumeIsolated().scheduleTask(in: .microseconds(Int64(micros))) { [self] in
        write(.rstStream(.cancel), on: id)
        self.context?.flush()
        finish(id, .failure(RPCError(code: .deadlineExceeded, message: "the call's deadline passed")))
      }
    }
    write(.headers(.init(headers: headers)), on: id)
    write(.data(.init(data: .byteBuffer(GRPCWireFormat.frame(request, allocator: context.channel.allocator)), endStream: true)), on: id)
    context.flush()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    let id = frame.streamID
    switch frame.payload {
    case .headers(let headers):
      guard let call = calls[id] else { return }
      if let status = headers.headers.first(name: "grpc-status") {
        finish(id, Self.outcome(status: status, message: headers.headers.first(name: "grpc-message"), call: call))
      } else if let status = headers.headers.first(name: ":status"), status != "200" {
        finish(id, .failure(RPCError(code: .unavailable, message: "HTTP status \(status) without a gRPC status")))
      } else if headers.endStream {
        finish(id, .failure(RPCError(code: .internalError, message: "the stream ended without a gRPC status")))
      }
    case .data(let data):
      let size = data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
      unreturnedConnectionBytes += size
      if unreturnedConnectionBytes >= Self.connectionWindowBytes / 2 {
        write(.windowUpdate(windowSizeIncrement: unreturnedConnectionBytes), on: .rootStream)
        unreturnedConnectionBytes = 0
        context.flush()
      }
      guard let call = calls[id], case .byteBuffer(let bytes) = data.data else { return }
      do {
        try call.deframer.append(bytes, into: &call.messages)
      } catch {
        write(.rstStream(.cancel), on: id)
        finish(id, .failure(error))
        return
      }
      call.unreturnedBytes += size
      if call.unreturnedBytes >= Self.streamWindowBytes / 2, !data.endStream {
        write(.windowUpdate(windowSizeIncrement: call.unreturnedBytes), on: id)
        call.unreturnedBytes = 0
        context.flush()
      }
      if data.endStream { finish(id, .failure(RPCError(code: .internalError, message: "the stream ended without a gRPC status"))) }
    case .rstStream(let code):
      finish(id, .failure(RPCError(code: .unavailable, message: "the server reset the stream (\(code))")))
    default:
      break
    }
  }

  private static func outcome(status: String, message: String?, call: Call) -> Result<ByteBuffer, RPCError> {
    guard let raw = Int(status), let statusCode = Status.Code(rawValue: raw) else {
      return .failure(RPCError(code: .unknown, message: "invalid grpc-status '\(status)'"))
    }
    guard let code = RPCError.Code(statusCode) else {  // OK
      return call.messages.count == 1
        ? .success(call.messages[0])
        : .failure(RPCError(code: .internalError, message: "a unary response needs one message; got \(call.messages.count)"))
    }
    return .failure(RPCError(code: code, message: message.map(GRPCWireFormat.percentDecoded) ?? ""))
  }

  private func finish(_ id: HTTP2StreamID, _ outcome: Result<ByteBuffer, RPCError>) {
    guard let call = calls.removeValue(forKey: id) else { return }
    call.timer?.cancel()
    switch outcome {
    case .success(let message): call.promise.succeed(message)
    case .failure(let error): call.promise.fail(error)
    }
  }

  private func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID) {
    context?.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: nil)
  }
}
