import Synchronization

/// What a `RedisClient` has done, counted since it was made: round trips (one per pipeline or
/// read sent to one server), redirections followed (`MOVED`, `ASK`) and slot-map reads (a cluster)
/// or primary look-ups (Sentinel). Shared by the client's pools and router. Thread-safe (atomics).
public final class RedisClientCounters: Sendable {
  let roundTrips = Atomic<Int>(0)
  let redirections = Atomic<Int>(0)
  let topologyReads = Atomic<Int>(0)

  init() {}

  /// A snapshot of the counts.
  public var snapshot: (roundTrips: Int, redirections: Int, topologyReads: Int) {
    (roundTrips.load(ordering: .relaxed), redirections.load(ordering: .relaxed), topologyReads.load(ordering: .relaxed))
  }
}
