import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Running calls and writing their responses. All on the connection's loop; handlers' tasks come
/// back to it through `NIOLoopBound` (directly when the task already runs on that loop).
extension WireConnectionHandler {
  func startUnary(_ handler: @escaping @Sendable (ByteBuffer, WireCall) async throws -> [UInt8],
                  _ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard let loop = context?.eventLoop else { return }
    let request = stream.requestMessages[0]
    stream.requestMessages = []
    release(stream)
    let call = stream.call
    let connection = NIOLoopBound(self, eventLoop: loop)
    let core = self.core
    core.callStarted()
    // A task per call rather than a task group's child: the stream needs the handle to cancel it
    // on RST_STREAM, a closed connection or a passed deadline; the server awaits every such task
    // (`WireServerCore` counts them) before graceful shutdown completes.
    stream.task = Task(executorPreference: core.executor) {
      let result: Result<[UInt8], RPCError>
      do {
        result = .success(try await handler(request, call))
      } catch {
        result = .failure(.wireStatus(for: error))
      }
      if loop.inEventLoop {
        connection.value.finishUnary(id, result)
      } else {
        loop.execute { connection.value.finishUnary(id, result) }
      }
      core.callEnded()
    }
  }

  func startStreaming(_ handler: @escaping @Sendable (WireInboundMessages, WireResponseWriter, WireCall) async throws -> Void,
                      _ stream: WireStreamState, _ id: HTTP2StreamID) {
    guard let loop = context?.eventLoop else { return }
    let connection = NIOLoopBound(self, eventLoop: loop)
    let (messages, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self, throwing: (any Error).self)
    stream.inbound = continuation
    let inbound = WireInboundMessages(messages: messages) { bytes in
      loop.execute { connection.value.consumed(bytes, on: id) }
    }
    // Messages and the final status always queue on the loop, so they leave in the order written.
    let writer = WireResponseWriter { message in
      let promise = loop.makePromise(of: Void.self)
      loop.execute { connection.value.sendMessage(message, on: id, promise: promise) }
      return promise.futureResult
    }
    let call = stream.call
    let core = self.core
    core.callStarted()
    stream.task = Task(executorPreference: core.executor) {
      let status: RPCError?
      do {
        try await handler(inbound, writer, call)
        status = nil
      } catch {
        status = .wireStatus(for: error)
      }
      loop.execute { connection.value.finishStreaming(id, status) }
      core.callEnded()
    }
  }

  private func finishUnary(_ id: HTTP2StreamID, _ result: Result<[UInt8], RPCError>) {
    guard let stream = streams[id], !stream.responded, let context else { return }
    switch result {
    case .success(let message):
      write(.headers(.init(headers: Self.responseHeaders)), on: id)
      write(.data(.init(data: .byteBuffer(GRPCWireFormat.frame(message, allocator: context.channel.allocator)))), on: id)
      end(stream, id, trailers: Self.okTrailers)
    case .failure(let error):
      fail(stream, id, error)
    }
    context.flush()
  }

  private func sendMessage(_ message: [UInt8], on id: HTTP2StreamID, promise: EventLoopPromise<Void>) {
    guard let stream = streams[id], !stream.responded, let context else {
      promise.fail(RPCError(code: .cancelled, message: "the call has ended"))
      return
    }
    if !stream.headersSent {
      stream.headersSent = true
      write(.headers(.init(headers: Self.responseHeaders)), on: id)
    }
    let frame = HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(GRPCWireFormat.frame(message, allocator: context.channel.allocator)))))
    context.write(wrapOutboundOut(frame), promise: promise)
    context.flush()
  }

  private func finishStreaming(_ id: HTTP2StreamID, _ status: RPCError?) {
    guard let stream = streams[id], !stream.responded, let context else { return }
    if let status {
      fail(stream, id, status)
    } else if stream.headersSent {
      end(stream, id, trailers: Self.okTrailers)
    } else {
      var headers = Self.responseHeaders
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
    end(stream, id, trailers: trailers)
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
    stream.responded = true
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
    if !stream.clientDone { write(.rstStream(.noError), on: id) }
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
