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
/// Everything a client sends is bounded here or in `WireServerCore`: request bytes held (per
/// connection and server-wide), metadata per call, calls admitted to run, calls refused before the
/// connection is sent away, and the time a connection may sit idle or a response unread.
///
/// Lives on the connection's event loop; every method runs there.
final class WireConnectionHandler: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  let core: WireServerCore
  var streams: [HTTP2StreamID: WireStreamState] = [:]
  var context: ChannelHandlerContext?
  /// This connection's key in the server's admission state.
  var key: ObjectIdentifier { ObjectIdentifier(self) }
  /// Bytes received on the connection not yet returned to its window.
  private var unreturnedConnectionBytes = 0
  private var highestStreamID = HTTP2StreamID.rootStream
  /// Calls started on this connection (for `maxCallsPerConnection`).
  private var callsStarted = 0
  /// Set once GOAWAY went out: no new calls; the connection closes when its streams are done.
  var goAwayStreamID: HTTP2StreamID?
  /// Request bytes the streams hold (`WireStreamState.heldBytes` summed), also counted server-wide.
  var heldRequestBytes = 0
  /// While draining: call statuses written but not yet on the socket (the connection closes after them).
  var unfinishedFinalWrites = 0
  /// Calls refused for a budget; at `maxRefusalsPerConnection` the connection gets GOAWAY.
  var refusals = 0
  /// Response bytes written and not yet on the socket, by stream, with when the oldest was written.
  var unwrittenResponses: [HTTP2StreamID: WireUnwrittenResponse] = [:]
  /// `unwrittenResponses`' bytes summed.
  var unwrittenResponseBytes = 0
  /// Whether this connection holds no more than its guaranteed share of bytes (it may then buffer
  /// `extra` more even when the server's budget is spent).
  func withinGuarantee(adding extra: Int) -> Bool {
    heldRequestBytes + unwrittenResponseBytes + extra <= core.configuration.guaranteedBytesPerConnection
  }
  /// Timers (`WireConnectionHandler+Housekeeping`).
  var housekeeping = WireHousekeeping()
  /// Whether the server counted this connection (false: refused as over a connection limit).
  private var counted = false
  var remotePeer = ""
  private var localPeer = ""
  /// The peer's address without its port: what `maxConnectionsPerPeer` counts.
  private var peerHost = ""
  /// What calls know of this connection; closed with it.
  let link = WireConnectionLink()

  static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc",
                                              "grpc-accept-encoding": WireMessageEncoding.accepted]
  static let okTrailers: HPACKHeaders = ["grpc-status": "0"]

  init(core: WireServerCore) { self.core = core }

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  /// Drops the context (the pipeline holds the handler; this breaks the cycle when the channel goes).
  func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

  func channelActive(context: ChannelHandlerContext) {
    remotePeer = Self.describe(context.channel.remoteAddress)
    localPeer = Self.describe(context.channel.localAddress)
    peerHost = context.channel.remoteAddress?.ipAddress ?? remotePeer
    do {
      try core.connectionOpened(self, peer: peerHost, on: context.eventLoop)
      counted = true
    } catch {
      let reason = switch error {
      case .serverFull(let limit): "the server has \(limit) connections open, its limit"
      case .peerFull(let limit): "\(peerHost) has \(limit) connections open, the limit per peer"
      }
      core.logger.debug("refusing a gRPC connection", metadata: ["peer": "\(remotePeer)", "reason": "\(reason)"])
      goAwayStreamID = .rootStream
      write(.goAway(lastStreamID: .rootStream, errorCode: .enhanceYourCalm, opaqueData: ByteBuffer(string: reason)), on: .rootStream)
      context.close(promise: nil)
      return
    }
    // Open the connection window beyond HTTP/2's initial 64 KiB (NIOHTTP2Handler sent its preface already).
    let increment = core.configuration.connectionWindowBytes - 65_535
    if increment > 0 {
      context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))),
                    promise: nil)
      context.flush()
    }
    startHousekeeping(context)
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    let gone = RPCError(code: .unavailable, message: "the connection closed")
    for id in Array(streams.keys) { forget(id)?.abandon(gone) }
    housekeeping.stop()
    link.close()
    if counted { core.connectionClosed(self, peer: peerHost) }
    counted = false
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    housekeeping.lastFrame = .now()
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
    // NIOHTTP2Handler wrote GOAWAY with the last stream it processed; closing flushes it first
    // (`NextTickFlushHandler`), so the client learns which calls are safe to retry. Debug level:
    // clients cause these.
    core.logger.debug("closing a gRPC connection after an error", metadata: ["peer": "\(remotePeer)", "error": "\(error)"])
    context.flush()
    context.close(promise: nil)
  }

  /// Sends GOAWAY (calls already started finish; streams the client opens later are refused by
  /// swift-nio-http2) and closes the connection once its calls are done. Graceful shutdown, idle
  /// connections, `maxCallsPerConnection` and too many refusals (`.enhanceYourCalm`) call this.
  func beginDraining(_ code: HTTP2ErrorCode = .noError, reason: String? = nil) {
    guard goAwayStreamID == nil, let context else { return }
    goAwayStreamID = highestStreamID
    write(.goAway(lastStreamID: highestStreamID, errorCode: code, opaqueData: reason.map { ByteBuffer(string: $0) }), on: .rootStream)
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
    guard let (route, encoding, headerBytes) = accepted(headers, on: id, clientDone: frame.endStream) else { return }
    let timeout = headers.first(name: "grpc-timeout").flatMap { GRPCTimeout.parse($0, maximum: core.configuration.maxCallTimeout) }
    let call = WireCall(path: headers.first(name: ":path") ?? "", headers: headers, deadline: timeout.map { .now + $0 },
                        remotePeer: remotePeer, localPeer: localPeer, connection: link)
    let stream = WireStreamState(route: route, call: call, maxMessageBytes: core.configuration.maxMessageBytes, encoding: encoding,
                                 responseEncoding: .response(request: encoding, accepts: headers.first(name: "grpc-accept-encoding")))
    stream.headerBytes = headerBytes
    heldRequestBytes += headerBytes
    streams[id] = stream
    housekeeping.idleSince = nil  // a refused request does not make the connection busy
    if let timeout, let context {
      stream.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(GRPCTimeout.nanoseconds(timeout))) {
        [self] in deadlinePassed(id)
      }
    }
    if stream.isStreaming {
      prepareStreaming(stream, id)
      admitAndStart(stream, id)
    }
    if frame.endStream { clientFinished(stream, id) }
    callsStarted += 1
    if core.configuration.maxCallsPerConnection > 0, callsStarted >= core.configuration.maxCallsPerConnection { beginDraining() }
  }

  /// The call's route, request encoding and header bytes (counted against the budgets), or nil after
  /// answering a request that cannot be served: not gRPC (405/415), an unknown method or encoding
  /// (UNIMPLEMENTED), too much metadata or no room left (RESOURCE_EXHAUSTED; its connection goes on).
  private func accepted(_ headers: HPACKHeaders, on id: HTTP2StreamID,
                        clientDone: Bool) -> (WireRoute, WireMessageEncoding, Int)? {
    guard headers.first(name: ":method") == "POST" else {
      rejectHTTP(status: "405", on: id, clientDone: clientDone)
      return nil
    }
    guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
      rejectHTTP(status: "415", on: id, clientDone: clientDone)
      return nil
    }
    let path = headers.first(name: ":path") ?? ""
    guard let route = core.router.route(at: path) else {
      reject(RPCError(code: .unimplemented, message: "unknown method '\(path)'"), on: id, clientDone: clientDone)
      return nil
    }
    let headerBytes = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
    guard headerBytes <= core.configuration.maxRequestHeaderBytes else {
      refused(RPCError(code: .resourceExhausted, message: "request metadata of \(headerBytes) bytes exceeds the limit of "
        + "\(core.configuration.maxRequestHeaderBytes) bytes"), on: id, clientDone: clientDone)
      return nil
    }
    guard let encoding = WireMessageEncoding(header: headers.first(name: "grpc-encoding")) else {
      reject(RPCError(code: .unimplemented, message: "grpc-encoding '\(headers.first(name: "grpc-encoding") ?? "")' is not "
        + "supported (\(WireMessageEncoding.accepted))"), on: id, clientDone: clientDone)
      return nil
    }
    guard core.account(headerBytes) || withinGuarantee(adding: headerBytes) else {
      _ = core.account(-headerBytes)
      refused(RPCError(code: .resourceExhausted, message: "the server holds too many unfinished requests; retry later"),
              on: id, clientDone: clientDone)
      return nil
    }
    return (route, encoding, headerBytes)
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
    var messages: [GRPCMessage] = []
    do {
      try stream.deframer.append(bytes, into: &messages)
    } catch {
      fail(stream, id, error)
      return
    }
    let held = stream.deframer.heldCapacity + (stream.isStreaming ? 0 : stream.requestMessages.reduce(0) { $0 + $1.bytes.readableBytes }
                                                                         + messages.reduce(0) { $0 + $1.bytes.readableBytes })
    let withinServer = core.account(held - stream.heldBytes) || withinGuarantee(adding: held - stream.heldBytes)
    heldRequestBytes += held - stream.heldBytes
    stream.heldBytes = held
    if heldRequestBytes > core.configuration.maxHeldRequestBytesPerConnection || !withinServer {
      let limit = withinServer
        ? "the connection holds more than \(core.configuration.maxHeldRequestBytesPerConnection) bytes of unfinished requests"
        : "the server holds more than \(core.configuration.maxBufferedBytes) bytes of unfinished requests and unread responses"
      refused(stream, id, RPCError(code: .resourceExhausted, message: limit))
      return
    }
    if stream.isStreaming {
      for message in messages {
        stream.queuedBytes += 5 + message.bytes.readableBytes
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
    stream.lifecycle.clientFinished()
    if stream.responded {
      forget(id)
      closeIfDrained()
      return
    }
    if stream.deframer.hasPartialMessage {
      fail(stream, id, RPCError(code: .internalError, message: "the request ended inside a message"))
      return
    }
    if stream.isStreaming {
      stream.inbound?.finish()
      stream.inbound = nil
      return
    }
    guard stream.requestMessages.count == 1 else {
      fail(stream, id, RPCError(code: .internalError, message: "a unary call takes one request message; got none"))
      return
    }
    admitAndStart(stream, id)
  }

  /// Returns the stream's received bytes to its window once half of it is used (a client sending one
  /// large message never stalls), unless a streaming handler has too much of its input untaken.
  private func returnStreamWindowIfDue(_ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard !stream.clientDone, stream.unreturnedBytes >= core.configuration.streamWindowBytes / 2,
          stream.queuedBytes < core.configuration.maxQueuedRequestBytes else { return }
    write(.windowUpdate(windowSizeIncrement: stream.unreturnedBytes), on: id)
    stream.unreturnedBytes = 0
  }

  /// Removes the stream's state, its held request bytes from the connection's and the server's
  /// counts, and its place in the admission queue if it was waiting.
  @discardableResult
  func forget(_ id: HTTP2StreamID) -> WireStreamState? {
    guard let stream = streams.removeValue(forKey: id) else { return nil }
    stream.lifecycle.close()  // reset, refused or answered: nothing more is written on it
    release(stream)
    heldRequestBytes -= stream.headerBytes
    _ = core.account(-stream.headerBytes)
    stream.headerBytes = 0
    if case .waiting(let ticket) = stream.admission {
      stream.queueTimer?.cancel()
      // False: it was admitted meanwhile; `admitted(_:)` finds the stream gone and frees the slot.
      _ = core.withdraw(key, ticket: ticket)
    }
    if streams.isEmpty { housekeeping.idleSince = .now() }
    return stream
  }

  /// The stream's held request bytes no longer count (its handler has them, or it is over).
  func release(_ stream: WireStreamState) {
    heldRequestBytes -= stream.heldBytes
    _ = core.account(-stream.heldBytes)
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
