import Foundation

/// Runs blocking `body` (a raw socket, a child process, `redis-cli`) on a new thread and returns its
/// result: the cooperative pool has two threads on these machines, and a test blocking one stalls
/// every other suite.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
  }
}
