import NIOCore
import Synchronization

/// The request messages of a streaming call, in order (each without gRPC's prefix, inflated if it
/// came compressed). Ends when the client half-closes; throws when the stream is reset or the
/// connection goes away, or a message does not inflate within the size limit. Iterate it from one
/// task. Taking a message returns its bytes to the stream's HTTP/2 flow-control window, so a
/// handler that stops reading stops the client (back-pressure).
public struct WireInboundMessages: AsyncSequence, Sendable {
  public typealias Element = ByteBuffer
  public typealias Failure = any Error

  let messages: AsyncThrowingStream<GRPCMessage, any Error>
  let encoding: WireMessageEncoding
  let maxMessageBytes: Int
  /// Told how many bytes (prefix included) each taken message held.
  let consumed: @Sendable (Int) -> Void

  /// Iterates the messages.
  public struct AsyncIterator: AsyncIteratorProtocol {
    var base: AsyncThrowingStream<GRPCMessage, any Error>.AsyncIterator
    let encoding: WireMessageEncoding
    let maxMessageBytes: Int
    let consumed: @Sendable (Int) -> Void

    /// The next message, or nil once the client half-closed.
    public mutating func next() async throws -> ByteBuffer? {
      guard let message = try await base.next() else { return nil }
      consumed(5 + message.bytes.readableBytes)
      return message.compressed ? try encoding.decompress(message.bytes, maxBytes: maxMessageBytes) : message.bytes
    }
  }

  /// An iterator over the messages (one per sequence).
  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(base: messages.makeAsyncIterator(), encoding: encoding, maxMessageBytes: maxMessageBytes, consumed: consumed)
  }
}

/// Writes a streaming call's response messages. `write` returns once the message is queued on the
/// connection, and waits while more than `maxQueuedBytes` of the call's messages are not yet on the
/// socket (the client reading slowly holds the handler). Use from one task at a time.
public final class WireResponseWriter: Sendable {
  /// Queues one framed message on the connection; the future completes when it is written.
  private let send: @Sendable (ByteBuffer) -> EventLoopFuture<Void>
  /// How messages are framed (and compressed) before they are queued.
  private let encoding: WireMessageEncoding
  /// Bytes of this call's messages queued and not yet written.
  private let unwritten = Atomic<Int>(0)
  /// Bytes of messages a call may have queued and unwritten before `write` waits.
  public let maxQueuedBytes: Int

  init(maxQueuedBytes: Int = 256 * 1024, encoding: WireMessageEncoding = .identity,
       send: @escaping @Sendable (ByteBuffer) -> EventLoopFuture<Void>) {
    self.send = send
    self.encoding = encoding
    self.maxQueuedBytes = maxQueuedBytes
  }

  /// Sends `message` (serialized, without the prefix). Throws when the call has ended (the client
  /// left or the deadline passed) or, while waiting, when the message cannot be written.
  public func write(_ message: [UInt8]) async throws {
    try Task.checkCancellation()
    // Framed (and compressed) here, on the handler's task, not on the connection's event loop.
    let framed = GRPCWireFormat.frame(message, encoding: encoding, allocator: ByteBufferAllocator())
    let size = framed.readableBytes
    let written = send(framed)
    let queued = unwritten.add(size, ordering: .relaxed).newValue
    written.whenComplete { [self] _ in unwritten.subtract(size, ordering: .relaxed) }
    // The stream's writes leave in order: once this one is out, so are all before it.
    if queued > maxQueuedBytes { try await written.get() }
  }
}
