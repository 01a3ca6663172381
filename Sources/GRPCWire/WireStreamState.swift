import GRPCCore
import NIOCore

/// One HTTP/2 stream's gRPC call on a connection: its method, the request bytes gathered so far,
/// its place in admission, the handler's task and where the response stands. Owned by
/// `WireConnectionHandler` on its loop.
final class WireStreamState {
  /// Where a call stands in admission control.
  enum Admission: Equatable {
    /// Not asked yet (a unary request still arriving), or exempt.
    case none
    /// Waiting for a slot under this ticket.
    case waiting(UInt64)
    /// Holds a slot; the handler's task frees it when it ends.
    case running
  }

  let route: WireRoute
  var method: WireMethod { route.method }
  let call: WireCall
  var deframer: GRPCMessageDeframer
  /// The request's message encoding (`grpc-encoding`).
  let encoding: WireMessageEncoding
  /// The encoding of the response messages (the request's, when the client accepts it).
  let responseEncoding: WireMessageEncoding
  var admission = Admission.none
  /// Fails the call if it waits for a slot longer than `maxQueueWait`.
  var queueTimer: Scheduled<Void>?
  /// When the call began to wait for a slot (its queueing delay feeds load shedding).
  var queuedAt: NIODeadline?
  /// Bytes of the request's headers, counted against the connection's and the server's budgets
  /// until the stream ends.
  var headerBytes = 0
  /// Unary calls: the request messages received (exactly one is valid).
  var requestMessages: [GRPCMessage] = []
  /// Where the call stands: the client's END_STREAM, the response headers, the status.
  var lifecycle = WireStreamLifecycle.open
  /// The client sent END_STREAM (or the call is over).
  var clientDone: Bool { lifecycle.clientDone }
  /// The response headers went out (a later error needs trailers, not a trailers-only response).
  var headersSent: Bool { lifecycle.headersSent }
  /// The call's status went out; nothing more is written on the stream.
  var responded: Bool { lifecycle.isClosed }
  /// The handler's task, cancelled when the stream is reset, the connection closes or the deadline passes.
  var task: Task<Void, Never>?
  var deadlineTimer: Scheduled<Void>?
  /// Streaming calls: where request messages go (made when the call arrives, so messages queue
  /// while it waits for a slot)...
  var inbound: AsyncThrowingStream<GRPCMessage, any Error>.Continuation?
  /// ... and where its handler will read them.
  var inboundMessages: AsyncThrowingStream<GRPCMessage, any Error>?
  /// Bytes received on the stream and not yet returned to its flow-control window.
  var unreturnedBytes = 0
  /// Streaming calls: bytes of whole messages handed to the handler and not yet taken by it.
  var queuedBytes = 0
  /// Request bytes this stream holds that count against the connection's limit: a partial message,
  /// and for a unary call its whole message until the handler starts.
  var heldBytes = 0

  /// When the call's headers arrived (its duration for `WireCallObserver`).
  let started = ContinuousClock.now

  init(route: WireRoute, call: WireCall, maxMessageBytes: Int, encoding: WireMessageEncoding = .identity,
       responseEncoding: WireMessageEncoding = .identity) {
    self.route = route
    self.call = call
    self.encoding = encoding
    self.responseEncoding = responseEncoding
    self.deframer = GRPCMessageDeframer(maxMessageBytes: maxMessageBytes, compressionAllowed: encoding != .identity)
  }

  /// True for `.streaming` methods.
  var isStreaming: Bool {
    if case .streaming = method { return true }
    return false
  }

  /// Stops the handler and ends the request messages with `error` (the call is over).
  func abandon(_ error: RPCError) {
    task?.cancel()
    deadlineTimer?.cancel()
    deadlineTimer = nil
    queueTimer?.cancel()
    queueTimer = nil
    inbound?.finish(throwing: error)
    inbound = nil
  }
}

extension RPCError {
  /// The status a handler's error becomes: `RPCError`s as thrown, cancellation CANCELLED, anything
  /// else INTERNAL with a generic message (no internal detail leaks to clients).
  static func wireStatus(for error: any Error) -> RPCError {
    switch error {
    case let error as RPCError: error
    case is CancellationError: RPCError(code: .cancelled, message: "the call was cancelled")
    default: RPCError(code: .internalError, message: "internal error")
    }
  }
}
