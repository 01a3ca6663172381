import FunnelCore
import Synchronization

/// The in-process feature store of the embedded default: real-time user profiles and the event log
/// in memory, behind one mutex. Implements `UserActivitySource` and `EventSink`.
///
/// Thread-safe; every operation holds the lock for O(batch) work, never across a suspension.
/// Nothing survives a restart: production uses the Redis store.
public final class EmbeddedFeatureStore: UserActivitySource, EventSink, ItemActivitySource, AnonymousEventCounter {
  /// Capacity limits.
  public struct Limits: Hashable, Sendable {
    /// Interactions kept per user (oldest dropped first).
    public var interactionsPerUser: Int = 200
    /// Event ids remembered for de-duplication (oldest forgotten first).
    public var rememberedEventIDs: Int = 2_000_000
    /// Events kept in the log for index rebuilds (oldest dropped first).
    public var loggedEvents: Int = 5_000_000

    /// The defaults above.
    public init() {}
  }

  private struct State {
    var recent: [UserID: [RecentInteraction]] = [:]   // oldest first; read newest first
    var items: [ItemID: ItemActivity] = [:]
    var seenIDs: Set<String> = []
    var seenOrder: [String] = []
    var seenHead = 0
    var log: [BehaviourEvent] = []
    var logHead = 0
    var totalAccepted = 0
  }

  private let state = Mutex(State())
  private let limits: Limits

  /// An empty store.
  public init(limits: Limits = Limits()) { self.limits = limits }

  /// Loads a history synchronously (start-up seeding); same semantics as `append`.
  @discardableResult
  public func seed(_ events: [BehaviourEvent]) -> EventAppendResult {
    state.withLock { appendLocked(events, &$0) }
  }

  public func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction] {
    state.withLock { s in
      guard let list = s.recent[user] else { return [] }
      return Array(list.suffix(limit).reversed())
    }
  }

  public func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult {
    state.withLock { appendLocked(events, &$0) }
  }

  /// Counts the events in the items' counters only: no profile, no log entry; the event id is
  /// remembered for de-duplication as for any event.
  public func countAnonymously(_ events: [BehaviourEvent], category: @Sendable (ItemID) -> String?) async throws -> Int {
    state.withLock { s in
      var counted = 0
      for event in events where rememberLocked(event.eventID, &s) {
        s.items[event.itemID, default: ItemActivity()].add(event.kind, at: event.timestampMs)
        counted += 1
      }
      return counted
    }
  }

  public func forget(user: UserID) async throws -> Int {
    state.withLock { s in
      s.recent[user] = nil
      let before = s.log.count - s.logHead
      s.log = s.log[s.logHead...].filter { $0.userID != user }
      s.logHead = 0
      return before - s.log.count
    }
  }

  /// Every logged event, oldest first (for rebuilding the index with what was tracked). O(events).
  public func loggedEvents() -> [BehaviourEvent] { state.withLock { Array($0.log[$0.logHead...]) } }

  /// Users with a profile, and events accepted since start.
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    state.withLock { s in items.map { s.items[$0] } }
  }

  public func counts() -> (users: Int, events: Int) { state.withLock { ($0.recent.count, $0.totalAccepted) } }

  private func appendLocked(_ events: [BehaviourEvent], _ s: inout State) -> EventAppendResult {
    var result = EventAppendResult(accepted: 0, duplicates: 0)
    for (index, event) in events.enumerated() {
      guard rememberLocked(event.eventID, &s) else {
        result.duplicates += 1
        result.duplicateIndices.append(index)
        continue
      }
      s.log.append(event)
      if s.log.count - s.logHead > limits.loggedEvents {
        s.logHead += 1
        if s.logHead > limits.loggedEvents / 2 { s.log.removeFirst(s.logHead); s.logHead = 0 }
      }
      if event.kind != .exposure {
        var list = s.recent[event.userID, default: []]
        let interaction = RecentInteraction(itemID: event.itemID, kind: event.kind, timestampMs: event.timestampMs)
        // Keep time order even when events arrive late (at-least-once delivery reorders).
        if let last = list.last, last.timestampMs > event.timestampMs {
          let at = list.lastIndex { $0.timestampMs <= event.timestampMs }.map { $0 + 1 } ?? 0
          list.insert(interaction, at: at)
        } else {
          list.append(interaction)
        }
        if list.count > limits.interactionsPerUser { list.removeFirst(list.count - limits.interactionsPerUser) }
        s.recent[event.userID] = list
      }
      s.items[event.itemID, default: ItemActivity()].add(event.kind, at: event.timestampMs)
      s.totalAccepted += 1
      result.accepted += 1
    }
    return result
  }

  /// Remembers `eventID`; false when it was seen before. The oldest ids are forgotten past the cap.
  private func rememberLocked(_ eventID: String, _ s: inout State) -> Bool {
    guard s.seenIDs.insert(eventID).inserted else { return false }
    s.seenOrder.append(eventID)
    if s.seenOrder.count - s.seenHead > limits.rememberedEventIDs {
      s.seenIDs.remove(s.seenOrder[s.seenHead])
      s.seenHead += 1
      if s.seenHead > limits.rememberedEventIDs / 2 { s.seenOrder.removeFirst(s.seenHead); s.seenHead = 0 }
    }
    return true
  }
}
