@testable import RedisStore
import Testing

/// The pool's decisions, without a server or a clock.
@Suite struct RedisPoolStateMachineTests {
  @Test func prefersOpenConnectionsThenOpensNewOnesThenQueues() {
    var pool = RedisPoolStateMachine(capacity: 2)
    #expect(pool.lease(nowMs: 0) == .use(index: 0, connect: true))
    #expect(pool.release(0, .ok, nowMs: 1) == .none)
    #expect(pool.lease(nowMs: 2) == .use(index: 0, connect: false), "the open connection is reused")
    #expect(pool.lease(nowMs: 2) == .use(index: 1, connect: true))
    #expect(pool.lease(nowMs: 3) == .wait(id: 1))
    #expect(pool.lease(nowMs: 3) == .wait(id: 2))
    #expect(pool.release(1, .ok, nowMs: 4) == .resume(id: 1, index: 1, connect: false), "first come, first served")
    #expect(pool.release(0, .broken, nowMs: 5) == .resume(id: 2, index: 0, connect: true), "a broken one is reopened")
    #expect(pool.waiting == 0 && pool.slots == [.leased, .leased])
  }

  @Test func failedConnectsBackOffExponentiallyAndFailFast() {
    var pool = RedisPoolStateMachine(capacity: 1, baseBackoffMs: 50, maxBackoffMs: 300)
    #expect(pool.lease(nowMs: 0) == .use(index: 0, connect: true))
    #expect(pool.release(0, .connectFailed, nowMs: 10) == .none)
    #expect(pool.lease(nowMs: 20) == .fail(retryInMs: 40, failures: 1), "no connect storm: fail at once")
    #expect(pool.lease(nowMs: 60) == .use(index: 0, connect: true), "after 50 ms one call tries again")
    #expect(pool.release(0, .connectFailed, nowMs: 60) == .none)
    #expect(pool.lease(nowMs: 159) == .fail(retryInMs: 1, failures: 2), "100 ms after the second failure")
    #expect(pool.lease(nowMs: 160) == .use(index: 0, connect: true))
    _ = pool.release(0, .connectFailed, nowMs: 160)
    #expect(pool.retryAtMs == 360)
    #expect(pool.lease(nowMs: 360) == .use(index: 0, connect: true))
    _ = pool.release(0, .connectFailed, nowMs: 360)
    #expect(pool.retryAtMs == 660, "capped at 300 ms")
    #expect(pool.lease(nowMs: 700) == .use(index: 0, connect: true))
    #expect(pool.release(0, .ok, nowMs: 701) == .none)
    #expect(pool.failures == 0 && pool.lease(nowMs: 702) == .use(index: 0, connect: false), "recovered: back-off reset")
  }

  @Test func waitersFailDuringBackOffAndCanBeCancelled() {
    var pool = RedisPoolStateMachine(capacity: 1)
    #expect(pool.lease(nowMs: 0) == .use(index: 0, connect: true))
    #expect(pool.lease(nowMs: 0) == .wait(id: 1))
    #expect(pool.lease(nowMs: 0) == .wait(id: 2))
    #expect(pool.cancelWait(2) && !pool.cancelWait(2))
    #expect(pool.release(0, .connectFailed, nowMs: 5) == .fail(id: 1, retryInMs: 50, failures: 1))
    #expect(pool.slots == [.closed] && pool.waiting == 0)
  }
}
