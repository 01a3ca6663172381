/// Measures elapsed time on the monotonic clock, for per-stage timings.
///
/// A value type: copy it to keep a start point. Thread-safe as any `Sendable` value.
public struct Stopwatch: Sendable {
  private let start: ContinuousClock.Instant

  /// Starts now.
  public init() { start = ContinuousClock.now }

  /// Microseconds since start.
  public var elapsedMicros: UInt64 {
    let d = ContinuousClock.now - start
    let (s, atto) = d.components
    return UInt64(max(0, s)) * 1_000_000 + UInt64(max(0, atto)) / 1_000_000_000_000
  }
}
