import FeatureStore
import FunnelCore

/// ForgetUser's path: a user's real-time features and history (with an event stream, their queued
/// events too; later events are accepted only if they arrive after the call), buffered and logged
/// exposures, the offline profile (MongoDB) and its cached copy. Idempotent. Thread-safe.
struct UserErasure: Sendable {
  let validator: RequestValidator
  let events: any EventSink
  let feedback: FeedbackLoop
  let offline: OfflineFeatureState?

  /// Forgets `user`; returns the events, exposures and profile documents removed. A store failure
  /// fails the call (forgetting is retried: it is idempotent).
  func forget(user: String) async throws -> Int {
    try validator.checkID(user, field: "user_id", required: true)
    var removed = try await events.forget(user: user)
    if let log = feedback.settings.exposureLog {
      feedback.recorder?.discard(user: user)
      removed += try await log.forget(user: user)
    }
    if let offline {
      removed += try await offline.source.forgetUser(user)
      offline.users.forget(user)
    }
    return removed
  }
}
