import FunnelCore
import Synchronization

/// The in-process exposure log of the embedded default: the newest exposures in memory, at most
/// `capacity` of them and `maxBytes` (`Exposure.approximateBytes`) in all, so clients asking for
/// large answers cannot grow the process without bound. Thread-safe. Nothing survives a restart;
/// production logs to Redis (`RedisExposureLog`).
public final class MemoryExposureLog: ExposureLog {
  private let capacity: Int
  private let maxBytes: Int
  private struct State {
    var entries: [Exposure] = []
    var sizes: [Int] = []
    var head = 0
    var bytes = 0
  }
  private let state = Mutex(State())

  /// A log keeping the newest `capacity` exposures within `maxBytes`.
  public init(capacity: Int = 1_000_000, maxBytes: Int = 64 << 20) {
    self.capacity = max(1, capacity)
    self.maxBytes = max(1, maxBytes)
  }

  public func write(_ exposures: [Exposure]) async throws {
    state.withLock { s in
      for exposure in exposures {
        let size = exposure.approximateBytes
        s.entries.append(exposure)
        s.sizes.append(size)
        s.bytes += size
      }
      while s.head < s.entries.count, s.entries.count - s.head > capacity || s.bytes > maxBytes {
        s.bytes -= s.sizes[s.head]
        s.head += 1
      }
      if s.head > 1_024, s.head > (s.entries.count - s.head) {
        s.entries.removeFirst(s.head)
        s.sizes.removeFirst(s.head)
        s.head = 0
      }
    }
  }

  /// Exposures kept and their approximate bytes.
  public var usage: (count: Int, bytes: Int) { state.withLock { ($0.entries.count - $0.head, $0.bytes) } }

  public func exposures(sinceMs: Int64) async throws -> [Exposure] {
    state.withLock { s in s.entries[s.head...].filter { $0.timestampMs >= sinceMs } }
  }

  public func forget(user: UserID) async throws -> Int {
    state.withLock { s in
      let before = s.entries.count - s.head
      let kept = s.entries.indices.dropFirst(s.head).filter { s.entries[$0].userID != user }
      s.entries = kept.map { s.entries[$0] }
      s.sizes = kept.map { s.sizes[$0] }
      s.bytes = s.sizes.reduce(0, +)
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
