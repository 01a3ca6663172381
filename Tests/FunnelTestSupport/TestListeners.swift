import FunnelHTTP
import Logging
import ServiceLifecycle

/// A real HTTP listener on an ephemeral loopback port, for tests of the HTTP side.
public enum TestListeners {
  /// Runs `listener` in a `ServiceGroup`, calls `body` with its port, then shuts it down gracefully
  /// and waits for it.
  public static func with<T: Sendable>(_ listener: some ListeningService, _ body: (Int) async throws -> T) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: [.init(service: listener)], logger: Logger(label: "test")))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let result: T
      do {
        result = try await body(try await listener.listeningPort())
      } catch {
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        throw error
      }
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
      return result
    }
  }
}

/// A lifecycle service that listens on a port it reports once bound (the HTTP and dashboard listeners).
public protocol ListeningService: Service {
  func listeningPort() async throws -> Int
}

extension HTTPListener: ListeningService {}
extension DashboardListener: ListeningService {}
