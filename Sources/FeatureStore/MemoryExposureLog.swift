import FunnelCore
import Synchronization

/// The in-process exposure log of the embedded default: the newest `capacity` exposures in memory.
/// Thread-safe. Nothing survives a restart; production logs to Redis (`RedisExposureLog`).
public final class MemoryExposureLog: ExposureLog {
  private let capacity: Int
  private let state = Mutex<(entries: [Exposure], head: Int)>(([], 0))

  /// A log keeping the newest `capacity` exposures.
  public init(capacity: Int = 1_000_000) { self.capacity = max(1, capacity) }

  public func write(_ exposures: [Exposure]) async throws {
    state.withLock { s in
      s.entries += exposures
      if s.entries.count - s.head > capacity {
        s.head = s.entries.count - capacity
        if s.head > capacity / 2 { s.entries.removeFirst(s.head); s.head = 0 }
      }
    }
  }

  public func exposures(sinceMs: Int64) async throws -> [Exposure] {
    state.withLock { s in s.entries[s.head...].filter { $0.timestampMs >= sinceMs } }
  }

  public func forget(user: UserID) async throws -> Int {
    state.withLock { s in
      let before = s.entries.count - s.head
      s.entries = s.entries[s.head...].filter { $0.userID != user }
      s.head = 0
      return before - s.entries.count
    }
  }
}

extension EmbeddedFeatureStore: EventHistory {
  /// Logged events with a timestamp at or after `sinceMs`, in acceptance order. O(events).
  public func events(sinceMs: Int64) async throws -> [BehaviourEvent] {
    loggedEvents().filter { $0.timestampMs >= sinceMs }
  }
}
