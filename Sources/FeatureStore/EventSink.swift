import FunnelCore

/// Accepts behaviour events, idempotently by event id, and makes them visible to
/// `UserActivitySource` reads. Thread-safe.
public protocol EventSink: Sendable {
  /// Stores `events` (already validated). A returned result means they are durably stored.
  func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult
  /// Removes everything known about `user`; returns how many events were removed. Idempotent.
  func forget(user: UserID) async throws -> Int
}
