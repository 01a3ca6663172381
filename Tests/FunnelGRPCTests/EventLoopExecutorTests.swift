import FunnelGRPC
import FunnelTestSupport
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Where `EventLoopExecutor` runs tasks: always on one of its loops, and a task started while one
/// loop is busy goes to an idle one; with a tick budget, work past the budget goes to the pool until
/// the loop has polled its sockets again.
@Suite struct EventLoopExecutorTests {
  /// Index of the executor's loop the calling thread belongs to (nil: none of them).
  private static func loopIndex(_ executor: EventLoopExecutor) -> Int? {
    executor.eventLoops.firstIndex { $0.inEventLoop }
  }

  @Test func tasksRunOnTheExecutorsLoops() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let executor = EventLoopExecutor(loops: Array(group.makeIterator()))
    for _ in 0..<20 {
      let index = await Task(executorPreference: executor) { () async -> Int? in
        let before = Self.loopIndex(executor)
        await Task.yield()  // resumes through the executor again
        return before == nil ? nil : Self.loopIndex(executor)
      }.value
      #expect(index != nil)
    }
    // One loop: every job runs on it.
    let single = EventLoopExecutor(group.next())
    let onIt = await Task(executorPreference: single) { single.eventLoops[0].inEventLoop }.value
    #expect(onIt)
    try await group.shutdownGracefully()
  }

  @Test func aTaskStartedWhileOneLoopIsBusyRunsOnTheOther() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let executor = EventLoopExecutor(loops: Array(group.makeIterator()))
    let release = Mutex(false)
    let busyLoop = Mutex<Int?>(nil)
    // Holds its loop (blocking the loop's thread is what a long scoring job does) until released,
    // or for 60 s at most: a task sent to this loop by mistake then runs late and fails the checks
    // below instead of hanging the test. (3 s was too short: in the parallel debug suite on two
    // cores the ten checks below took longer, the loop came free, and checks ran on it.)
    let busy = Task(executorPreference: executor) { () -> Bool in
      busyLoop.withLock { $0 = Self.loopIndex(executor) }
      let until = ContinuousClock.now + .seconds(60)
      while !release.withLock({ $0 }) {
        if ContinuousClock.now >= until { return false }
        usleep(1_000)
      }
      return true
    }
    while busyLoop.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(1)) }
    for _ in 0..<10 {
      let other = await Task(executorPreference: executor) { Self.loopIndex(executor) }.value
      #expect(other != nil && other != busyLoop.withLock { $0 })
    }
    release.withLock { $0 = true }
    #expect(await busy.value, "the busy loop was held through every check")
    try await group.shutdownGracefully()
  }

  /// A task that keeps its loop busy (each step spins, then yields, so its next step is queued on
  /// the loop while the loop runs it) keeps an NIO loop from its sockets for as long as it runs,
  /// since the loop polls only when no task is queued. With a tick budget the loop reads a client's
  /// byte while the task still runs; without one, only after the task has ended.
  @Test func aTickBudgetLetsTheLoopReadWhileABusyTaskRuns() async throws {
    let (group, budgeted) = EventLoopExecutor.makeGroup(threads: 1, tickBudget: .milliseconds(1))
    let read = try await Self.readTime(group: group, executor: budgeted)
    #expect(read.byte < read.taskEnded, "with a budget the loop read during the task")
    let unbounded = try await Self.readTime(group: group, executor: EventLoopExecutor(loops: Array(group.makeIterator())))
    #expect(unbounded.byte >= unbounded.taskEnded, "without a budget the loop could not read until the task ended")
    try await group.shutdownGracefully()
  }

  /// Runs a loop-hogging task on `executor` that sends one byte to a server on `group`'s loop a few
  /// steps in; returns when the server read it and when the task ended.
  private static func readTime(group: MultiThreadedEventLoopGroup, executor: EventLoopExecutor) async throws
    -> (byte: ContinuousClock.Instant, taskEnded: ContinuousClock.Instant) {
    let received = ReadClock.Received()
    let server = try await ServerBootstrap(group: group)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ReadClock(received: received)) }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(server.localAddress?.port)
    // A plain blocking client, connected (and accepted by the idle loop) before the task starts;
    // the task itself sends the byte a few steps in, so nothing else needs a thread to run.
    let fd = try LoopbackSocket.connect(port: port)
    defer { close(fd) }
    while !received.accepted.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
    let busy = Task(executorPreference: executor) { () async -> ContinuousClock.Instant in
      for step in 0..<1_000 {
        if step == 10 {
          var byte: UInt8 = 1
          _ = send(fd, &byte, 1, 0)
        }
        let until = ContinuousClock.now + .microseconds(100)
        while ContinuousClock.now < until {}
        await Task.yield()
      }
      return ContinuousClock.now
    }
    let ended = await busy.value
    try await server.close()
    return (try #require(received.at.withLock { $0 }, "the server read the byte"), ended)
  }
}

/// Notes when the first byte arrives.
private final class ReadClock: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  /// When the first byte arrived.
  final class Received: Sendable {
    let at = Mutex<ContinuousClock.Instant?>(nil)
    let accepted = Mutex(false)
  }
  let received: Received
  init(received: Received) { self.received = received }
  func channelActive(context: ChannelHandlerContext) {
    received.accepted.withLock { $0 = true }
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    received.at.withLock { if $0 == nil { $0 = ContinuousClock.now } }
  }
}
