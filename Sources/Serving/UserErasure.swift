import FeatureStore
import FunnelCore
import FunnelSecurity

/// ForgetUser's path: a user's real-time features and history (with an event stream, their queued
/// events too; later events are accepted only if they arrive after the call), buffered and logged
/// exposures, the offline profile (MongoDB) and its cached copy; with a fleet, every replica's cached
/// copies and the tombstones exports consult. Idempotent. Thread-safe.
struct UserErasure: Sendable {
  let validator: RequestValidator
  let events: any EventSink
  let feedback: FeedbackLoop
  let offline: OfflineFeatureState?
  /// The fleet: other replicas' caches and the tombstones; nil in one process.
  let broadcast: (any ErasureBroadcast)?
  /// Names the store `events` is, for the receipt (`redis`, `embedded`).
  let storeName: String

  /// Forgets `user`; returns the receipt of what was removed where. A store failure fails the call
  /// (forgetting is retried: it is idempotent).
  func forget(user: String) async throws -> ErasureReceipt {
    try validator.checkID(user, field: "user_id", required: true)
    var receipt = ErasureReceipt()
    receipt.parts.append(.init(store: storeName, what: "events, interactions and queued stream entries",
                               count: try await events.forget(user: user)))
    if let log = feedback.settings.exposureLog {
      feedback.recorder?.discard(user: user)
      receipt.parts.append(.init(store: storeName, what: "exposures", count: try await log.forget(user: user)))
    }
    if let offline {
      receipt.parts.append(.init(store: "offline features", what: "profile documents",
                                 count: try await offline.source.forgetUser(user)))
      offline.users.forget(user)
    }
    if let broadcast {
      receipt.replicasCleared = try await broadcast.announce(digest: UserIDDigest.hex(user))
      receipt.tombstoned = true
    }
    return receipt
  }

  /// Drops the user whose SHA-256 is `digest` from this replica's caches (a broadcast from the
  /// replica that forgot them): the cached profile and buffered exposures. O(the caches' entries).
  func forgetCached(digest: String) {
    offline?.users.forget { UserIDDigest.hex($0) == digest }
    feedback.recorder?.discard { UserIDDigest.hex($0) == digest }
  }
}
