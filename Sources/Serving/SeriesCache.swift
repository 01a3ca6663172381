import Synchronization

/// The series of one labelled metric family, made on first use for each key and kept: the registry's
/// own lookup takes its lock and rebuilds label strings, and a request should pay one dictionary
/// lookup. Keys are the caller's own values (a route, a method path, a status code), hashed without
/// building strings; `make` turns a new key into its labelled series. Keys must come from a bounded
/// set (never a client's free text). Thread-safe (one short lock per lookup).
public final class SeriesCache<Key: Hashable & Sendable, Metric: Sendable>: Sendable {
  private let made = Mutex<[Key: Metric]>([:])
  private let make: @Sendable (Key) -> Metric

  /// An empty cache making series with `make`.
  public init(_ make: @escaping @Sendable (Key) -> Metric) { self.make = make }

  /// The series of `key`. O(1) average.
  public subscript(key: Key) -> Metric {
    made.withLock { made in
      if let metric = made[key] { return metric }
      let metric = make(key)
      made[key] = metric
      return metric
    }
  }
}
