import GRPCCore
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Serves gRPC calls on one HTTP/2 connection from the frames `NIOHTTP2Handler` delivers, without a
/// channel per stream: the handler keeps each stream's state in a table, runs each call's handler
/// in a task on the server's executor, and writes the response frames itself. Flow control: the
/// connection window is returned as data arrives; a stream's window is returned once half of it is
/// used, except while a streaming handler has not taken `maxQueuedRequestBytes` of its messages.
///
/// Lives on the connection's event loop; every method runs there.
final class WireConnectionHandler: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  let core: WireServerCore
  var streams: [HTTP2StreamID: WireStreamState] = [:]
  var context: ChannelHandlerContext?
  /// Bytes received on the connection not yet returned to its window.
  private var unreturnedConnectionBytes = 0
  private var highestStreamID = HTTP2StreamID.rootStream
  /// Calls started on this connection (for `maxCallsPerConnection`).
  private var callsStarted = 0
  /// Set once GOAWAY went out: no new calls; the connection closes when its streams are done.
  var goAwayStreamID: HTTP2StreamID?
  /// Request bytes the streams hold (`WireStreamState.heldBytes` summed).
  var heldRequestBytes = 0
  /// While draining: call statuses written but not yet on the socket (the connection closes after them).
  var unfinishedFinalWrites = 0
  private var remotePeer = ""
  private var localPeer = ""

  static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc",
                                              "grpc-accept-encoding": "identity"]
  static let okTrailers: HPACKHeaders = ["grpc-status": "0"]

  init(core: WireServerCore) { self.core = core }

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  /// Drops the context (the pipeline holds the handler; this breaks the cycle when the channel goes).
  func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

  func channelActive(context: ChannelHandlerContext) {
    remotePeer = Self.describe(context.channel.remoteAddress)
    localPeer = Self.describe(context.channel.localAddress)
    core.connectionOpened(self, on: context.eventLoop)
    // Open the connection window beyond HTTP/2's initial 64 KiB (NIOHTTP2Handler sent its preface already).
    let increment = core.configuration.connectionWindowBytes - 65_535
    if increment > 0 {
      context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))),
                    promise: nil)
      context.flush()
    }
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    let gone = RPCError(code: .unavailable, message: "the connection closed")
    for stream in streams.values { stream.abandon(gone) }
    streams.removeAll()
    heldRequestBytes = 0
    core.connectionClosed(self)
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    switch frame.payload {
    case .headers(let headers): received(headers, on: frame.streamID)
    case .data(let data): received(data, on: frame.streamID)
    case .rstStream:
      if let stream = forget(frame.streamID) {
        stream.abandon(RPCError(code: .cancelled, message: "the client reset the stream"))
        closeIfDrained()
      }
    default: break
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // A stream-level protocol error: NIOHTTP2Handler reset the stream already; end its call.
    // (Also streams refused after GOAWAY, which never reached the table.)
    if let error = error as? NIOHTTP2Errors.StreamError {
      if let stream = forget(error.streamID) {
        stream.abandon(RPCError(code: .internalError, message: "HTTP/2 stream error: \(error.baseError)"))
        closeIfDrained()
      }
      return
    }
    // Connection-level errors (a client speaking something else than HTTP/2, a protocol violation):
    // NIOHTTP2Handler sent GOAWAY; nothing more can be served here. Debug level: clients cause these.
    core.logger.debug("closing a gRPC connection after an error", metadata: ["peer": "\(remotePeer)", "error": "\(error)"])
    context.close(promise: nil)
  }

  /// Sends GOAWAY (calls already started finish; streams the client opens later are refused by
  /// swift-nio-http2) and closes the connection once its calls are done. Graceful shutdown and
  /// `maxCallsPerConnection` call this.
  func beginDraining() {
    guard goAwayStreamID == nil, let context else { return }
    goAwayStreamID = highestStreamID
    write(.goAway(lastStreamID: highestStreamID, errorCode: .noError, opaqueData: nil), on: .rootStream)
    context.flush()
    closeIfDrained()
  }

  /// Closes the connection at once (server cancelled).
  func closeNow() { context?.close(promise: nil) }

  // MARK: - Requests

  private func received(_ frame: HTTP2Frame.FramePayload.Headers, on id: HTTP2StreamID) {
    if let stream = streams[id] {  // the client's trailers
      if frame.endStream { clientFinished(stream, id) }
      return
    }
    // After GOAWAY, swift-nio-http2 refuses streams above its last ID itself (RST_STREAM
    // REFUSED_STREAM, reported here as a stream error); a frame of ours on one would be an error.
    if let goAway = goAwayStreamID, id > goAway { return }
    if id > highestStreamID { highestStreamID = id }
    let headers = frame.headers
    guard headers.first(name: ":method") == "POST" else {
      rejectHTTP(status: "405", on: id, clientDone: frame.endStream)
      return
    }
    guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
      rejectHTTP(status: "415", on: id, clientDone: frame.endStream)
      return
    }
    let path = headers.first(name: ":path") ?? ""
    guard let method = core.router.method(at: path) else {
      reject(RPCError(code: .unimplemented, message: "unknown method '\(path)'"), on: id, clientDone: frame.endStream)
      return
    }
    if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
      reject(RPCError(code: .unimplemented, message: "grpc-encoding '\(encoding)' is not supported (identity only)"),
             on: id, clientDone: frame.endStream)
      return
    }
    let timeout = headers.first(name: "grpc-timeout").flatMap { GRPCTimeout.parse($0) }
    let call = WireCall(path: path, headers: headers, deadline: timeout.map { .now + $0 },
                        remotePeer: remotePeer, localPeer: localPeer)
    let stream = WireStreamState(method: method, call: call, maxMessageBytes: core.configuration.maxMessageBytes)
    streams[id] = stream
    if let timeout, let context {
      let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
      stream.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
        deadlinePassed(id)
      }
    }
    if case .streaming(let handler) = method { startStreaming(handler, stream, id) }
    if frame.endStream { clientFinished(stream, id) }
    callsStarted += 1
    if core.configuration.maxCallsPerConnection > 0, callsStarted >= core.configuration.maxCallsPerConnection { beginDraining() }
  }

  private func received(_ frame: HTTP2Frame.FramePayload.Data, on id: HTTP2StreamID) {
    let size = frame.data.readableBytes + (frame.paddingBytes.map { $0 + 1 } ?? 0)
    unreturnedConnectionBytes += size
    if unreturnedConnectionBytes >= core.configuration.connectionWindowBytes / 2 {
      write(.windowUpdate(windowSizeIncrement: unreturnedConnectionBytes), on: .rootStream)
      unreturnedConnectionBytes = 0
    }
    guard let stream = streams[id], !stream.responded, case .byteBuffer(let bytes) = frame.data else { return }
    stream.unreturnedBytes += size
    var messages: [ByteBuffer] = []
    do {
      try stream.deframer.append(bytes, into: &messages)
    } catch {
      fail(stream, id, error)
      return
    }
    let held = stream.deframer.pendingBytes + (stream.isStreaming ? 0 : stream.requestMessages.reduce(0) { $0 + $1.readableBytes }
                                                                       + messages.reduce(0) { $0 + $1.readableBytes })
    heldRequestBytes += held - stream.heldBytes
    stream.heldBytes = held
    if heldRequestBytes > core.configuration.maxHeldRequestBytesPerConnection {
      fail(stream, id, RPCError(code: .resourceExhausted, message: "the connection holds more than "
        + "\(core.configuration.maxHeldRequestBytesPerConnection) bytes of unfinished requests"))
      return
    }
    if stream.isStreaming {
      for message in messages {
        stream.queuedBytes += 5 + message.readableBytes
        stream.inbound?.yield(message)
      }
    } else if !messages.isEmpty {
      stream.requestMessages += messages
      if stream.requestMessages.count > 1 {
        fail(stream, id, RPCError(code: .internalError, message: "a unary call takes one request message; got more"))
        return
      }
    }
    returnStreamWindowIfDue(stream, id)
    if frame.endStream { clientFinished(stream, id) }
  }

  private func clientFinished(_ stream: WireStreamState, _ id: HTTP2StreamID) {
    stream.clientDone = true
    if stream.responded {
      forget(id)
      closeIfDrained()
      return
    }
    if stream.deframer.hasPartialMessage {
      fail(stream, id, RPCError(code: .internalError, message: "the request ended inside a message"))
      return
    }
    switch stream.method {
    case .streaming:
      stream.inbound?.finish()
      stream.inbound = nil
    case .unary(let handler):
      guard stream.requestMessages.count == 1 else {
        fail(stream, id, RPCError(code: .internalError, message: "a unary call takes one request message; got none"))
        return
      }
      startUnary(handler, stream, id)
    }
  }

  /// Returns the stream's received bytes to its window once half of it is used (a client sending one
  /// large message never stalls), unless a streaming handler has too much of its input untaken.
  private func returnStreamWindowIfDue(_ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard !stream.clientDone, stream.unreturnedBytes >= core.configuration.streamWindowBytes / 2,
          stream.queuedBytes < core.configuration.maxQueuedRequestBytes else { return }
    write(.windowUpdate(windowSizeIncrement: stream.unreturnedBytes), on: id)
    stream.unreturnedBytes = 0
  }

  /// Removes the stream's state and its held request bytes from the connection's count.
  @discardableResult
  func forget(_ id: HTTP2StreamID) -> WireStreamState? {
    guard let stream = streams.removeValue(forKey: id) else { return nil }
    release(stream)
    return stream
  }

  /// The stream's held request bytes no longer count (its handler has them, or it is over).
  func release(_ stream: WireStreamState) {
    heldRequestBytes -= stream.heldBytes
    stream.heldBytes = 0
  }

  /// A streaming handler took `bytes` of its messages.
  func consumed(_ bytes: Int, on id: HTTP2StreamID) {
    guard let stream = streams[id] else { return }
    stream.queuedBytes -= bytes
    returnStreamWindowIfDue(stream, id)
    context?.flush()
  }

  private static func describe(_ address: SocketAddress?) -> String {
    guard let address else { return "unknown" }
    switch address {
    case .v4: return "ipv4:\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    case .v6: return "ipv6:[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
    case .unixDomainSocket: return "unix:\(address.pathname ?? "")"
    }
  }
}
