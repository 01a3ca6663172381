import FunnelCore

/// One interaction of a user with an item, as kept in the real-time profile.
public struct RecentInteraction: Hashable, Sendable {
  public var itemID: ItemID
  public var kind: EventKind
  /// Unix ms.
  public var timestampMs: Int64

  /// Creates an interaction.
  public init(itemID: ItemID, kind: EventKind, timestampMs: Int64) {
    self.itemID = itemID
    self.kind = kind
    self.timestampMs = timestampMs
  }
}

/// Reads a user's real-time profile (recent interactions, newest first) for one request.
///
/// Implementations are thread-safe. Network-backed ones answer in one round trip and respect
/// task cancellation (the request deadline).
public protocol UserActivitySource: Sendable {
  /// Up to `limit` most recent interactions of `user`, newest first; empty for an unknown user.
  func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction]
}

/// The outcome of appending a batch of events.
public struct EventAppendResult: Hashable, Sendable {
  /// Events stored for the first time.
  public var accepted: Int
  /// Events whose id had been stored before (changed nothing).
  public var duplicates: Int

  /// Creates a result.
  public init(accepted: Int, duplicates: Int) {
    self.accepted = accepted
    self.duplicates = duplicates
  }
}

/// Accepts behaviour events, idempotently by event id, and makes them visible to
/// `UserActivitySource` reads. Thread-safe.
public protocol EventSink: Sendable {
  /// Stores `events` (already validated). A returned result means they are durably stored.
  func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult
  /// Removes everything known about `user`; returns how many events were removed. Idempotent.
  func forget(user: UserID) async throws -> Int
}
