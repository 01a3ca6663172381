import Synchronization

/// The port a listener bound, for callers that wait for it (`listeningPort()`, tests, the start-up
/// line): they wait until the listener binds, or get its error when it cannot. Thread-safe.
final class BoundPort: Sendable {
  private let state = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))

  /// The port, once bound.
  func wait() async throws -> Int {
    try await withCheckedThrowingContinuation { continuation in
      let port = state.withLock { state -> Int? in
        if let port = state.port { return port }
        state.waiters.append(continuation)
        return nil
      }
      if let port { continuation.resume(returning: port) }
    }
  }

  /// Records the bound `port` and wakes the waiters.
  func bound(_ port: Int) {
    let waiters = state.withLock { state in
      state.port = port
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume(returning: port) }
  }

  /// Wakes the waiters with `error` (the listener could not start); false when none waited.
  func fail(_ error: any Error) -> Bool {
    let waiters = state.withLock { state in defer { state.waiters = [] }; return state.waiters }
    for waiter in waiters { waiter.resume(throwing: error) }
    return !waiters.isEmpty
  }
}
