/// What a ForgetUser erased, where: the receipt the Admin call returns.
public struct ErasureReceipt: Sendable, Equatable {
  /// One store's share: (`redis`, `events, interactions and stream entries`, 12).
  public struct Part: Sendable, Equatable {
    public var store: String
    public var what: String
    public var count: Int
  }
  public var parts: [Part] = []
  /// Replicas that dropped the user from their in-process caches (profiles, buffered exposures), by
  /// name; this one included. Empty without a fleet broadcast (one process).
  public var replicasCleared: [String] = []
  /// Whether the user's digest is on the tombstone list that exports consult.
  public var tombstoned = false

  /// Records removed from the stores, every part together.
  public var total: Int { parts.reduce(0) { $0 + $1.count } }
}

/// Carries an erasure to every replica sharing the stores (`RedisErasureBroadcast`): each drops the
/// user from its caches, and the user's digest joins the tombstones. Thread-safe.
public protocol ErasureBroadcast: Sendable {
  /// Announces the user with SHA-256 `digest`; returns the replicas that confirmed within the call.
  func announce(digest: String) async throws -> [String]
}
