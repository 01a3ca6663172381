import RedisStore
import ServiceLifecycle
import Synchronization

/// The loop of a follower of announcements over Redis pub/sub (generations, catalog changes): calls
/// `step` at once, after each message on the subscriber's channel, and every `pollEvery` without one
/// (a missed message or a broken subscription only delays it), one step at a time (messages arriving
/// meanwhile make one more step), until cancelled or a graceful shutdown. The subscriber blocks a
/// thread of its own, named `threadName`.
enum AnnouncementLoop {
  final class Stop: Sendable { let stopped = Atomic<Bool>(false) }

  static func run(_ subscriber: RedisSubscriber, threadName: String, pollEvery: Duration,
                  step: @escaping @Sendable () async -> Void) async {
    let stop = Stop()
    let (messages, stopReceiving) = subscriber.messages(threadName: threadName)
    let halt: @Sendable () -> Void = {
      stop.stopped.store(true, ordering: .relaxed)
      stopReceiving()
    }
    await withTaskCancellationHandler {
      await withGracefulShutdownHandler {
        let (ticks, tick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
          group.addTask {
            for await _ in messages { tick.yield() }
          }
          group.addTask {
            while !stop.stopped.load(ordering: .relaxed) && !Task.isCancelled {
              tick.yield()
              try? await Task.sleep(for: pollEvery)
            }
            tick.finish()
          }
          group.addTask {
            for await _ in ticks { await step() }
          }
          await group.waitForAll()
        }
      } onGracefulShutdown: {
        halt()
      }
    } onCancel: {
      halt()
    }
  }
}
