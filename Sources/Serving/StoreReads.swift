import Tracing

/// How the request path reads a store: each read in a client span of the request's trace when it is
/// traced (`store recent`, `store profile`, `store item_features`) and counted with its duration per stage in the
/// metrics, measured to when the read ends even when the answer stopped waiting for it (so a slow
/// store shows in the histogram, not only in the timeout counter). Thread-safe; one per engine.
struct StoreReads: Sendable {
  let metrics: ServingMetrics
  let tracer: any Tracer

  /// The span's name (a literal: a request's spans build no strings).
  private static func spanName(_ stage: ServingMetrics.StoreStage) -> String {
    switch stage {
    case .recent: "store recent"
    case .profile: "store profile"
    case .itemFeatures: "store item_features"
    }
  }

  /// Runs `read` as a read of `stage`.
  func read<T>(_ stage: ServingMetrics.StoreStage, _ read: () async throws -> T) async throws -> T {
    let start = ContinuousClock.now
    defer { metrics.storeRead(stage, after: ContinuousClock.now - start) }
    guard SpanGate.recording else { return try await read() }
    return try await tracer.withSpan(Self.spanName(stage), ofKind: .client) { _ in try await read() }
  }
}
