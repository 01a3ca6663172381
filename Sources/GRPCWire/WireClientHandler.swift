import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The client side's frames: one entry per call in flight, completed by its trailers. On its
/// connection's loop.
final class WireClientHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  static let streamWindowBytes = 1024 * 1024
  private static let connectionWindowBytes = 8 * 1024 * 1024

  /// A call to send: what the caller asked for, kept whole so a refused call can be sent again.
  struct Request {
    let path: String
    let authority: String
    /// TLS: `:scheme` is https.
    let secure: Bool
    /// Custom metadata for the headers.
    let metadata: [(name: String, value: String)]
    let message: [UInt8]
    let deadline: NIODeadline?
    let promise: EventLoopPromise<ByteBuffer>
    /// How many more times the call may be sent on a new connection after the server refused it unprocessed.
    var retriesLeft: Int
  }

  private final class Call {
    let request: Request
    let onRefused: (Request) -> Void
    var deframer = GRPCMessageDeframer(maxMessageBytes: 64 * 1024 * 1024)
    var messages: [GRPCMessage] = []
    var timer: Scheduled<Void>?
    var unreturnedBytes = 0
    init(request: Request, onRefused: @escaping (Request) -> Void) {
      self.request = request
      self.onRefused = onRefused
    }
  }

  private var calls: [HTTP2StreamID: Call] = [:]
  private var nextStreamID = HTTP2StreamID(1)
  private var context: ChannelHandlerContext?
  private var unreturnedConnectionBytes = 0
  private var closed = false
  /// The server sent GOAWAY: no new calls here; the connection closes after its last call.
  private var goingAway = false
  private var closeWhenDone = false

  /// True while new calls may start here (open, no GOAWAY, stream IDs left).
  var isUsable: Bool { !closed && !goingAway && Int32(nextStreamID) <= Int32.max - 2 }

  /// The connection's channel, once added to one.
  var channel: (any Channel)? { context?.channel }

  /// Closes the connection once its calls are done (it was replaced by a new one).
  func closeWhenIdle() {
    closeWhenDone = true
    if calls.isEmpty { context?.close(promise: nil) }
  }

  /// Succeeds once the connection is active and its preface went out (calls written earlier would
  /// precede it); fails if the channel goes before.
  private(set) var ready: EventLoopPromise<Void>?

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    ready = context.eventLoop.makePromise(of: Void.self)
  }

  /// Drops the context (the pipeline holds the handler; this breaks the cycle when the channel goes).
  func handlerRemoved(context: ChannelHandlerContext) {
    self.context = nil
    ready?.fail(RPCError(code: .unavailable, message: "the connection closed before it was ready"))
    ready = nil
  }

  func channelActive(context: ChannelHandlerContext) {
    context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                             payload: .windowUpdate(windowSizeIncrement: Self.connectionWindowBytes - 65_535))),
                  promise: nil)
    context.flush()
    context.fireChannelActive()
    ready?.succeed()
    ready = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    closed = true
    ready?.fail(RPCError(code: .unavailable, message: "the connection closed before it was ready"))
    ready = nil
    let failed = calls
    calls.removeAll()
    for call in failed.values {
      call.timer?.cancel()
      call.request.promise.fail(RPCError(code: .unavailable, message: "the connection closed"))
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

  /// Sends `request` as a new stream; `onRefused` gets it back if the server refuses it unprocessed.
  func start(_ request: Request, onRefused: @escaping (Request) -> Void) {
    guard isUsable, let context else {
      request.promise.fail(RPCError(code: .unavailable, message: "the connection cannot take calls"))
      return
    }
    let id = nextStreamID
    nextStreamID = HTTP2StreamID(Int32(id) + 2)
    let call = Call(request: request, onRefused: onRefused)
    calls[id] = call
    var headers: HPACKHeaders = [":method": "POST", ":scheme": request.secure ? "https" : "http", ":path": request.path,
                                 ":authority": request.authority, "content-type": "application/grpc", "te": "trailers"]
    for (name, value) in request.metadata { headers.add(name: name, value: value) }
    if let deadline = request.deadline {
      let micros = max(1, (deadline - .now()).nanoseconds / 1_000)
      headers.add(name: "grpc-timeout", value: micros < 100_000_000 ? "\(micros)u" : "\(micros / 1_000_000)S")
      call.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
        write(.rstStream(.cancel), on: id)
        self.context?.flush()
        finish(id, .failure(RPCError(code: .deadlineExceeded, message: "the call's deadline passed")))
      }
    }
    write(.headers(.init(headers: headers)), on: id)
    write(.data(.init(data: .byteBuffer(GRPCWireFormat.frame(request.message, allocator: context.channel.allocator)), endStream: true)),
          on: id)
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
    case .rstStream(let code) where code == .refusedStream:
      refuse(id)
    case .rstStream(let code):
      finish(id, .failure(RPCError(code: .unavailable, message: "the server reset the stream (\(code))")))
    case .goAway(let lastStreamID, _, _):
      goingAway = true
      // Streams past the last one the server will process were never looked at: send them again.
      for id in calls.keys where id > lastStreamID { refuse(id) }
      if calls.isEmpty { context.close(promise: nil) }
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
        ? .success(call.messages[0].bytes)
        : .failure(RPCError(code: .internalError, message: "a unary response needs one message; got \(call.messages.count)"))
    }
    return .failure(RPCError(code: code, message: message.map(GRPCWireFormat.percentDecoded) ?? ""))
  }

  /// The server refused the stream unprocessed: its call goes back to the connection to be sent
  /// again (once), or fails UNAVAILABLE.
  private func refuse(_ id: HTTP2StreamID) {
    guard let call = calls.removeValue(forKey: id) else { return }
    call.timer?.cancel()
    var request = call.request
    if request.retriesLeft > 0 {
      request.retriesLeft -= 1
      call.onRefused(request)
    } else {
      request.promise.fail(RPCError(code: .unavailable, message: "the server refused the call"))
    }
    closeIfSpent()
  }

  /// A connection that is going away or was replaced closes once its last call is done.
  private func closeIfSpent() {
    if calls.isEmpty, goingAway || closeWhenDone { context?.close(promise: nil) }
  }

  private func finish(_ id: HTTP2StreamID, _ outcome: Result<ByteBuffer, RPCError>) {
    defer { closeIfSpent() }
    guard let call = calls.removeValue(forKey: id) else { return }
    call.timer?.cancel()
    switch outcome {
    case .success(let message): call.request.promise.succeed(message)
    case .failure(let error): call.request.promise.fail(error)
    }
  }

  private func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID) {
    context?.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: nil)
  }
}
