import GRPCCore
import NIOCore
import NIOHTTP2

/// A connection's timers: when it last heard from its client, since when it has had no stream,
/// the keepalive PING in flight, and the repeating task that checks them.
struct WireHousekeeping {
  /// When the last frame arrived from the client.
  var lastFrame = NIODeadline.now()
  /// Since when the connection has had no stream (nil: it has some).
  var idleSince: NIODeadline? = .now()
  /// When the keepalive PING went out, while its answer (any frame) is awaited.
  var pingSent: NIODeadline?
  var task: RepeatedTask?

  mutating func stop() {
    task?.cancel()
    task = nil
  }
}

/// Response bytes of one stream written but not yet on the socket.
struct WireUnwrittenResponse {
  var bytes: Int
  /// When the first of them was written, or the client last took some.
  var since: NIODeadline
  /// The stream was reset for them already (once is enough).
  var reset = false
}

extension WireConnectionHandler {
  /// Starts the repeating check of idle time, keepalive and unread responses.
  func startHousekeeping(_ context: ChannelHandlerContext) {
    let interval = TimeAmount.nanoseconds(GRPCTimeout.nanoseconds(core.configuration.housekeepingInterval))
    let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
    housekeeping.task = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
      bound.value.checkTimers(now: .now())
    }
  }

  /// Closes an idle connection (GOAWAY first), pings a silent one and closes it when the PING goes
  /// unanswered, and resets streams whose responses the client has not taken for
  /// `responseWriteTimeout` (closing the connection when the socket itself is blocked).
  func checkTimers(now: NIODeadline) {
    guard let context else { return }
    let configuration = core.configuration
    if let idle = configuration.idleTimeout, let since = housekeeping.idleSince, goAwayStreamID == nil,
       now - since >= Self.amount(idle) {
      core.logger.debug("closing an idle gRPC connection", metadata: ["peer": "\(remotePeer)"])
      beginDraining(.noError, reason: "idle for \(idle)")
      return
    }
    if let interval = configuration.keepaliveInterval {
      if let sent = housekeeping.pingSent {
        if housekeeping.lastFrame > sent {
          housekeeping.pingSent = nil
        } else if now - sent >= Self.amount(configuration.keepaliveTimeout) {
          core.logger.debug("closing a gRPC connection whose peer does not answer PING", metadata: ["peer": "\(remotePeer)"])
          context.close(promise: nil)
          return
        }
      } else if now - housekeeping.lastFrame >= Self.amount(interval) {
        housekeeping.pingSent = now
        write(.ping(HTTP2PingData(withInteger: UInt64(now.uptimeNanoseconds)), ack: false), on: .rootStream)
        context.flush()
      }
    }
    let writeTimeout = Self.amount(configuration.responseWriteTimeout)
    let stale = unwrittenResponses.filter { !$0.value.reset && now - $0.value.since >= writeTimeout }
    guard !stale.isEmpty else { return }
    if !context.channel.isWritable {
      // The client stopped reading the socket: nothing more can reach it, reset frames included.
      core.logger.debug("closing a gRPC connection that does not read its responses", metadata: ["peer": "\(remotePeer)"])
      context.close(promise: nil)
      return
    }
    // Flow control holds the responses (the client keeps its window shut): resetting the stream
    // drops them from swift-nio-http2's buffer, which fails their writes and frees their bytes.
    for id in stale.keys {
      unwrittenResponses[id]?.reset = true
      write(.rstStream(.cancel), on: id)
    }
    context.flush()
  }

  /// Counts `bytes` of a response about to be written on stream `id` against the server's budget;
  /// returns the write's promise, which returns them when the bytes are on the socket (or dropped).
  /// Nil when the server holds too many unread bytes already.
  func reserveResponse(_ bytes: Int, on id: HTTP2StreamID) -> EventLoopPromise<Void>? {
    guard let context else { return nil }
    if !core.reserve(bytes) {
      guard withinGuarantee(adding: bytes) else { return nil }
      _ = core.account(bytes)  // a small answer of a connection within its guaranteed share
    }
    unwrittenResponseBytes += bytes
    let promise = context.eventLoop.makePromise(of: Void.self)
    if unwrittenResponses[id] == nil {
      unwrittenResponses[id] = WireUnwrittenResponse(bytes: bytes, since: .now())
    } else {
      unwrittenResponses[id]!.bytes += bytes
    }
    promise.futureResult.assumeIsolated().whenComplete { [self] _ in
      core.unreserve(bytes)
      unwrittenResponseBytes -= bytes
      guard var entry = unwrittenResponses[id] else { return }
      entry.bytes -= bytes
      entry.since = .now()  // the client took some: the timeout counts from its last progress
      unwrittenResponses[id] = entry.bytes > 0 ? entry : nil
    }
    return promise
  }

  private static func amount(_ duration: Duration) -> TimeAmount { .nanoseconds(GRPCTimeout.nanoseconds(duration)) }
}
