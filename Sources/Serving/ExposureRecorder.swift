import FeatureStore
import FunnelCore
import Synchronization

/// The bounded hand-off of exposures from requests to the log writer: requests append in O(1)
/// under a lock and never wait; a writer service drains it. Bounded by count and by bytes.
/// Thread-safe.
public final class ExposureRecorder: Sendable {
  private let capacity: Int
  private let maxBytes: Int
  private let buffer = Mutex<(exposures: [Exposure], bytes: Int)>(([], 0))

  /// A recorder holding at most `capacity` undrained exposures and `maxBytes` of them.
  public init(capacity: Int, maxBytes: Int = 32 << 20) {
    self.capacity = max(1, capacity)
    self.maxBytes = max(1, maxBytes)
  }

  /// Adds one exposure; false (dropped) when the buffer is full.
  public func record(_ exposure: Exposure) -> Bool {
    let size = exposure.approximateBytes
    return buffer.withLock { b in
      guard b.exposures.count < capacity, b.bytes + size <= maxBytes else { return false }
      b.exposures.append(exposure)
      b.bytes += size
      return true
    }
  }

  /// Drops buffered exposures of users `matches` picks. O(buffered).
  public func discard(where matches: (UserID) -> Bool) {
    buffer.withLock { b in
      b.exposures.removeAll { matches($0.userID) }
      b.bytes = b.exposures.reduce(0) { $0 + $1.approximateBytes }
    }
  }

  /// Drops the buffered exposures of `user` (ForgetUser).
  public func discard(user: UserID) {
    buffer.withLock { b in
      b.exposures.removeAll { $0.userID == user }
      b.bytes = b.exposures.reduce(0) { $0 + $1.approximateBytes }
    }
  }

  /// Takes everything buffered so far.
  public func drain() -> [Exposure] { buffer.withLock { b in defer { b = ([], 0) }; return b.exposures } }
}
