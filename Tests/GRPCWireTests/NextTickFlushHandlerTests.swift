import NIOCore
import NIOEmbedded
import Testing

import GRPCWire

/// The listener's write coalescing: flushes wait for the loop's queued work, then leave together.
@Suite struct NextTickFlushHandlerTests {
  @Test func flushesWaitForTheQueuedWorkAndLeaveInOneGo() throws {
    let loop = EmbeddedEventLoop()
    let channel = EmbeddedChannel(handler: NextTickFlushHandler(), loop: loop)
    defer { _ = try? channel.finish() }
    // Two answers written and flushed in the same tick: nothing reaches the socket yet.
    channel.writeAndFlush(ByteBuffer(string: "first"), promise: nil)
    channel.writeAndFlush(ByteBuffer(string: "second"), promise: nil)
    #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    // The deferred flush runs once the loop gets to its task queue; both writes go out.
    loop.run()
    #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "first"))
    #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "second"))
    // A later lone answer is not held back past the next tick.
    channel.writeAndFlush(ByteBuffer(string: "third"), promise: nil)
    loop.run()
    #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "third"))
  }
}
