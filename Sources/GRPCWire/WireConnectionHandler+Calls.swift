import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Admitting and running calls and writing their responses. All on the connection's loop;
/// handlers' tasks come back to it through `NIOLoopBound` (directly when the task already runs on
/// that loop).
extension WireConnectionHandler {
  /// Starts the call when admission control lets it run (at once, or when its turn comes); refuses
  /// it when the queues are full. Methods registered `admitted: false` start at once.
  func admitAndStart(_ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard stream.route.admitted else {
      start(stream, id)
      return
    }
    guard unwrittenResponseBytes <= core.configuration.maxUnreadResponseBytesPerConnection else {
      refused(stream, id, RPCError(code: .resourceExhausted, message: "the connection has \(unwrittenResponseBytes) bytes of "
        + "answers it has not read; read them before asking for more"))
      return
    }
    guard let loop = context?.eventLoop else { return }
    let connection = NIOLoopBound(self, eventLoop: loop)
    let (decision, ticket) = core.admit(key) { loop.execute { connection.value.admitted(id) } }
    switch decision {
    case .run:
      stream.admission = .running
      core.queueDelayObserved(.zero)
      start(stream, id)
    case .wait:
      if let delay = core.sheddingDelay, core.withdraw(key, ticket: ticket) {
        refused(stream, id, RPCError(code: .resourceExhausted, message: "the server is shedding load: calls wait \(delay) for a slot "
          + "(budget \(core.configuration.shedQueueDelay ?? .zero)); retry later or elsewhere"))
        return
      }
      stream.admission = .waiting(ticket)
      stream.queuedAt = .now()
      let wait = core.configuration.maxQueueWait
      stream.queueTimer = loop.assumeIsolated().scheduleTask(in: .nanoseconds(GRPCTimeout.nanoseconds(wait))) { [self] in
        queueWaitPassed(id, ticket: ticket, wait: wait)
      }
    case .refuse(let reason):
      refused(stream, id, RPCError(code: .resourceExhausted, message: "the server is busy: \(reason); retry later"))
    }
  }

  /// The waiting call's turn came: start it, or, if it ended meanwhile, give the slot back.
  private func admitted(_ id: HTTP2StreamID) {
    guard let stream = streams[id], case .waiting = stream.admission, !stream.responded else {
      core.admittedCallEnded(key)
      return
    }
    stream.queueTimer?.cancel()
    stream.queueTimer = nil
    stream.admission = .running
    if let queuedAt = stream.queuedAt { core.queueDelayObserved(.nanoseconds((NIODeadline.now() - queuedAt).nanoseconds)) }
    start(stream, id)
  }

  private func queueWaitPassed(_ id: HTTP2StreamID, ticket: UInt64, wait: Duration) {
    guard let stream = streams[id], stream.admission == .waiting(ticket) else { return }
    stream.queueTimer = nil
    guard core.withdraw(key, ticket: ticket) else { return }  // admitted meanwhile: it starts
    stream.admission = .none
    core.queueDelayObserved(wait)
    refused(stream, id, RPCError(code: .resourceExhausted, message: "the server is busy: the call waited \(wait) for a slot; retry later"))
  }

  private func start(_ stream: WireStreamState, _ id: HTTP2StreamID) {
    switch stream.method {
    case .unary(let handler): startUnary(handler, stream, id)
    case .streaming(let handler): startStreaming(handler, stream, id)
    }
  }

  private func startUnary(_ handler: @escaping @Sendable (ByteBuffer, WireCall) async throws -> WireReply,
                          _ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard let loop = context?.eventLoop else { return }
    let request = stream.requestMessages[0]
    stream.requestMessages = []
    release(stream)
    let (call, encoding, responseEncoding, admitted) = (stream.call, stream.encoding, stream.responseEncoding,
                                                        stream.admission == .running)
    let maxBytes = core.configuration.maxMessageBytes
    let connection = NIOLoopBound(self, eventLoop: loop)
    let (core, key) = (self.core, self.key)
    core.callStarted()
    // A task per call rather than a task group's child: the stream needs the handle to cancel it
    // on RST_STREAM, a closed connection or a passed deadline; the server awaits every such task
    // (`WireServerCore` counts them) before graceful shutdown completes. Inflating the request and
    // framing (and compressing) the response happen here, off the event loop.
    stream.task = Task(executorPreference: core.executor) {
      let result: Result<(ByteBuffer, [(name: String, value: String)]), RPCError>
      var ended: (@Sendable () -> Void)?
      defer { ended?() }
      do {
        if let callGuard = core.router.callGuard { ended = try await callGuard(call) }
        let message = request.compressed ? try encoding.decompress(request.bytes, maxBytes: maxBytes) : request.bytes
        let reply = try await handler(message, call)
        result = .success((GRPCWireFormat.frame(reply.message, encoding: responseEncoding, allocator: ByteBufferAllocator()),
                           reply.metadata))
      } catch {
        result = .failure(.wireStatus(for: error))
      }
      if loop.inEventLoop {
        connection.value.finishUnary(id, result)
      } else {
        loop.execute { connection.value.finishUnary(id, result) }
      }
      if admitted { core.admittedCallEnded(key) }
      core.callEnded()
    }
  }

  /// Makes the streaming call's inbound message stream when its headers arrive, so messages queue
  /// (bounded by its flow-control window) while it waits for a slot.
  func prepareStreaming(_ stream: WireStreamState, _ id: HTTP2StreamID) {
    let (messages, continuation) = AsyncThrowingStream.makeStream(of: GRPCMessage.self, throwing: (any Error).self)
    stream.inbound = continuation
    stream.inboundMessages = messages
  }

  private func startStreaming(_ handler: @escaping @Sendable (WireInboundMessages, WireResponseWriter, WireCall) async throws -> Void,
                              _ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard let loop = context?.eventLoop, let messages = stream.inboundMessages else { return }
    stream.inboundMessages = nil
    let connection = NIOLoopBound(self, eventLoop: loop)
    let inbound = WireInboundMessages(messages: messages, encoding: stream.encoding,
                                      maxMessageBytes: core.configuration.maxMessageBytes) { bytes in
      loop.execute { connection.value.consumed(bytes, on: id) }
    }
    // Messages and the final status always queue on the loop, so they leave in the order written.
    let writer = WireResponseWriter(encoding: stream.responseEncoding) { message in
      let promise = loop.makePromise(of: Void.self)
      loop.execute { connection.value.sendMessage(message, on: id, promise: promise) }
      return promise.futureResult
    }
    let (call, core, key, admitted) = (stream.call, self.core, self.key, stream.admission == .running)
    core.callStarted()
    stream.task = Task(executorPreference: core.executor) {
      let status: RPCError?
      var ended: (@Sendable () -> Void)?
      defer { ended?() }
      do {
        if let callGuard = core.router.callGuard { ended = try await callGuard(call) }
        try await handler(inbound, writer, call)
        status = nil
      } catch {
        status = .wireStatus(for: error)
      }
      loop.execute { connection.value.finishStreaming(id, status) }
      if admitted { core.admittedCallEnded(key) }
      core.callEnded()
    }
  }

  private func finishUnary(_ id: HTTP2StreamID, _ result: Result<(ByteBuffer, [(name: String, value: String)]), RPCError>) {
    guard let stream = streams[id], !stream.responded, let context else { return }
    switch result {
    case .success(let (message, metadata)):
      guard let promise = reserveResponse(message.readableBytes, on: id) else {
        refused(stream, id, unreadResponsesError)
        break
      }
      stream.lifecycle.headersWritten()
      var headers = responseHeaders(stream)
      for (name, value) in metadata where WireReply.isCustom(name, value) { headers.add(name: name, value: value) }
      write(.headers(.init(headers: headers)), on: id)
      context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(message))))), promise: promise)
      end(stream, id, trailers: Self.okTrailers)
    case .failure(let error):
      fail(stream, id, error)
    }
    context.flush()
  }

  private func sendMessage(_ message: ByteBuffer, on id: HTTP2StreamID, promise: EventLoopPromise<Void>) {
    guard let stream = streams[id], !stream.responded, let context else {
      promise.fail(RPCError(code: .cancelled, message: "the call has ended"))
      return
    }
    guard let counted = reserveResponse(message.readableBytes, on: id) else {
      promise.fail(unreadResponsesError)
      return
    }
    counted.futureResult.cascade(to: promise)
    if stream.lifecycle.headersWritten() {
      write(.headers(.init(headers: responseHeaders(stream))), on: id)
    }
    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(message))))), promise: counted)
    context.flush()
  }

  private var unreadResponsesError: RPCError {
    RPCError(code: .resourceExhausted, message: "the server holds more than \(core.configuration.maxBufferedBytes) bytes of "
      + "unfinished requests and unread responses; retry later")
  }

  private func responseHeaders(_ stream: WireStreamState) -> HPACKHeaders {
    guard stream.responseEncoding != .identity else { return Self.responseHeaders }
    var headers = Self.responseHeaders
    headers.add(name: "grpc-encoding", value: stream.responseEncoding.rawValue)
    return headers
  }

  private func finishStreaming(_ id: HTTP2StreamID, _ status: RPCError?) {
    guard let stream = streams[id], !stream.responded, let context else { return }
    if let status {
      fail(stream, id, status)
    } else if stream.headersSent {
      end(stream, id, trailers: Self.okTrailers)
    } else {
      var headers = responseHeaders(stream)
      headers.add(name: "grpc-status", value: "0")
      end(stream, id, trailers: headers)
    }
    context.flush()
  }

  func deadlinePassed(_ id: HTTP2StreamID) {
    guard let stream = streams[id], !stream.responded else { return }
    stream.deadlineTimer = nil
    fail(stream, id, RPCError(code: .deadlineExceeded, message: "the call's deadline passed"))
    context?.flush()
  }

  /// Ends the call with `error`'s status (trailers, or a trailers-only response before any message)
  /// and stops its handler.
  func fail(_ stream: WireStreamState, _ id: HTTP2StreamID, _ error: RPCError) {
    stream.abandon(error)
    var trailers: HPACKHeaders = stream.headersSent ? [:] : Self.responseHeaders
    trailers.add(name: "grpc-status", value: String(error.code.rawValue))
    if !error.message.isEmpty { trailers.add(name: "grpc-message", value: GRPCWireFormat.percentEncoded(error.message)) }
    for (name, value) in error.metadata {
      // Text metadata only (e.g. `grpc-retry-pushback-ms`); reserved names stay the transport's.
      guard case .string(let text) = value, !name.hasPrefix(":"), name != "grpc-status", name != "grpc-message" else { continue }
      trailers.add(name: name, value: text)
    }
    end(stream, id, trailers: trailers)
  }

  /// Fails a call refused for a budget and counts the refusal against its connection.
  func refused(_ stream: WireStreamState, _ id: HTTP2StreamID, _ error: RPCError) {
    fail(stream, id, error)
    context?.flush()
    countRefusal()
  }

  /// Refuses a call that has no state yet and counts the refusal against its connection.
  func refused(_ error: RPCError, on id: HTTP2StreamID, clientDone: Bool) {
    reject(error, on: id, clientDone: clientDone)
    countRefusal()
  }

  /// A client that keeps pushing past its budgets gets GOAWAY (ENHANCE_YOUR_CALM): its calls in
  /// flight finish, new ones must come on a new connection.
  private func countRefusal() {
    refusals += 1
    if refusals == core.configuration.maxRefusalsPerConnection {
      core.logger.info("sending a gRPC connection away after too many refused calls",
                       metadata: ["peer": "\(remotePeer)", "refused": "\(refusals)"])
      beginDraining(.enhanceYourCalm, reason: "\(refusals) calls refused for the server's limits")
    }
  }

  /// A call refused before it has state (unknown method, bad encoding): a trailers-only response.
  func reject(_ error: RPCError, on id: HTTP2StreamID, clientDone: Bool) {
    var trailers = Self.responseHeaders
    trailers.add(name: "grpc-status", value: String(error.code.rawValue))
    trailers.add(name: "grpc-message", value: GRPCWireFormat.percentEncoded(error.message))
    write(.headers(.init(headers: trailers, endStream: true)), on: id)
    if !clientDone { write(.rstStream(.noError), on: id) }
    context?.flush()
  }

  /// Not a gRPC request (wrong method or content type): a bare HTTP status, as the protocol asks.
  func rejectHTTP(status: String, on id: HTTP2StreamID, clientDone: Bool) {
    write(.headers(.init(headers: [":status": status], endStream: true)), on: id)
    if !clientDone { write(.rstStream(.noError), on: id) }
    context?.flush()
  }

  /// Writes the call's status (`trailers`, END_STREAM) and forgets the stream; if the client has
  /// not finished sending, tells it to stop (RST_STREAM NO_ERROR after a complete response, RFC 9113
  /// section 8.1). While draining, the connection closes only once these last writes are out.
  private func end(_ stream: WireStreamState, _ id: HTTP2StreamID, trailers: HPACKHeaders) {
    let clientDone = stream.clientDone
    guard stream.lifecycle.close() else { return }
    if let observer = core.observer {
      let code = trailers.first(name: "grpc-status").flatMap { Int($0) } ?? Status.Code.unknown.rawValue
      observer(stream.call.path, code, ContinuousClock.now - stream.started)
    }
    stream.deadlineTimer?.cancel()
    stream.deadlineTimer = nil
    let promise: EventLoopPromise<Void>?
    if goAwayStreamID != nil, let context {
      let written = context.eventLoop.makePromise(of: Void.self)
      unfinishedFinalWrites += 1
      written.futureResult.assumeIsolated().whenComplete { [self] _ in
        unfinishedFinalWrites -= 1
        closeIfDrained()
      }
      promise = written
    } else {
      promise = nil
    }
    context?.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: trailers, endStream: true)))),
                   promise: promise)
    if !clientDone { write(.rstStream(.noError), on: id) }
    forget(id)
    closeIfDrained()
  }

  func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID) {
    context?.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: nil)
  }

  /// After GOAWAY, closes the connection once no call is left and the last statuses are written.
  func closeIfDrained() {
    guard goAwayStreamID != nil, streams.isEmpty, unfinishedFinalWrites == 0, let context else { return }
    context.flush()
    context.close(promise: nil)
  }
}
