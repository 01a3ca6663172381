import NIOCore

/// Coalesces the flushes of a connection to at most one per event-loop tick, without a timer: the
/// first flush is deferred to a task queued behind the work already on the loop, and flushes that
/// arrive before it runs ride along. Under load the answers of one batch of reads leave in one
/// write; at low load an answer waits only for the task queue, not for a timer (grpc-swift's own
/// coalescing holds every flush up to 100 µs, the whole of a trivial call at concurrency 1).
///
/// Sits first in a connection's pipeline (next to the socket). Used on the event loop only.
///
/// A close flushes first: frames written just before it (a GOAWAY naming the last stream processed)
/// reach the peer instead of being dropped with the deferred flush.
public final class NextTickFlushHandler: ChannelOutboundHandler, RemovableChannelHandler {
  public typealias OutboundIn = NIOAny

  /// A handler with no flush pending.
  public init() {}

  private var scheduled = false

  public func flush(context: ChannelHandlerContext) {
    guard !scheduled else { return }
    scheduled = true
    let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    context.eventLoop.execute {
      let (handler, context) = bound.value
      handler.scheduled = false
      context.flush()
    }
  }

  public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
    if scheduled { context.flush() }
    context.close(mode: mode, promise: promise)
  }
}
