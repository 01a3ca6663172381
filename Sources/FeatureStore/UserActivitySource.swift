import FunnelCore

/// Reads a user's real-time profile (recent interactions, newest first) for one request.
///
/// Implementations are thread-safe. Network-backed ones answer in one round trip and respect
/// task cancellation (the request deadline).
public protocol UserActivitySource: Sendable {
  /// Up to `limit` most recent interactions of `user`, newest first; empty for an unknown user.
  func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction]
}
