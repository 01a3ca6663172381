import FunnelCore

/// Where the events of users who did not consent (or opted out) still count: only in aggregates that
/// name no one, the items' activity counters (`rt.*` features, trending) and the business counters.
/// Nothing keyed by the user is written, and such events never reach the event stream, the event
/// log, exports or training. Thread-safe.
public protocol AnonymousEventCounter: Sendable {
  /// Counts `events` (already validated) in item-level aggregates only; `category` names an item's
  /// category for the business counters. Returns how many were counted for the first time
  /// (idempotent by event id where the store remembers ids). O(events).
  func countAnonymously(_ events: [BehaviourEvent], category: @Sendable (ItemID) -> String?) async throws -> Int
}
