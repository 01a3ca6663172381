import Synchronization
import FunnelCore
import FunnelTestSupport
import InMemoryTracing
import Serving
import Testing
import Tracing

/// Spans of one request: a `Recommend` (or `Search`) span, a child of the caller's trace when the
/// transport put one in the task's service context, with a child span per stage in order.
@Suite struct TracingTests {
  @Test func aRequestIsASpanWithAChildPerStageUnderTheCallersTrace() async throws {
    let tracer = InMemoryTracer()
    let (engine, _) = TestEngines.engine(tracer: tracer)
    // The caller's trace, as a transport extracts it from `traceparent`.
    var caller = ServiceContext.topLevel
    caller.inMemorySpanContext = InMemorySpanContext(traceID: "caller-trace", spanID: "caller-span", parentSpanID: nil)
    let answer = try await ServiceContext.withValue(caller) {
      try await engine.recommend(RecommendInput(userID: "U-1", scene: .home, count: 5))
    }
    let spans = tracer.finishedSpans
    let root = try #require(spans.first { $0.operationName == "Recommend" })
    #expect(root.kind == .server)
    #expect(root.spanContext.traceID == "caller-trace" && root.spanContext.parentSpanID == "caller-span",
            "the request span continues the caller's trace")
    #expect(root.attributes["funnel.request_id"]?.toSpanAttribute() == .string(answer.requestID))
    let stages = spans.filter { $0.spanContext.parentSpanID == root.spanContext.spanID }
    #expect(stages.map(\.operationName) == ["context", "recall", "filter", "rank", "rerank"])
    #expect(stages.allSatisfy { $0.spanContext.traceID == "caller-trace" && $0.kind == .internal })
    func children(of name: String) throws -> [FinishedInMemorySpan] {
      let parent = try #require(stages.first { $0.operationName == name })
      return spans.filter { $0.spanContext.parentSpanID == parent.spanContext.spanID }
    }
    // Each recall channel the home scene uses, and each store read, in a span of its stage's.
    let channels = try children(of: "recall").map(\.operationName)
    #expect(channels.contains("recall popular") && channels.contains("recall category") && channels.allSatisfy { $0.hasPrefix("recall ") },
            "\(channels)")
    let reads = try children(of: "context")
    #expect(reads.contains { $0.operationName == "store recent" && $0.kind == .client }, "\(reads.map(\.operationName))")
    // The same work in the metrics: candidates and time per channel, reads per store stage.
    #expect(engine.metrics.value("funnel_recall_candidates_total", [("channel", "popular")]) > 0)
    #expect(engine.metrics.value("funnel_recall_duration_seconds_count", [("channel", "popular")]) == 1)
    #expect(engine.metrics.value("funnel_store_reads_total", [("stage", "recent")]) == 1)
    #expect(engine.metrics.value("funnel_store_read_duration_seconds_count", [("stage", "recent")]) == 1)

    // Without a caller, a search starts a trace of its own.
    _ = try await engine.search(SearchInput(query: TestEngines.store.items[0].title, count: 3))
    let search = try #require(tracer.finishedSpans.first { $0.operationName == "Search" })
    #expect(search.spanContext.parentSpanID == nil && search.spanContext.traceID != "caller-trace")
  }

  /// An unsampled request (its span does not record) makes its own span and no others: the
  /// stage, channel and store spans are skipped, not made and dropped.
  @Test func anUnsampledRequestMakesOneSpan() async throws {
    let tracer = CountingTracer()
    let (engine, _) = TestEngines.engine(tracer: tracer)
    _ = try await engine.recommend(RecommendInput(userID: "U-1", scene: .home, count: 5))
    #expect(tracer.started.load(ordering: .relaxed) == 1)
  }
}

/// A tracer whose spans never record, counting the spans started.
final class CountingTracer: Tracer, Sendable {
  typealias Span = NoOpTracer.NoOpSpan
  let started = Atomic<Int>(0)
  func startSpan<Instant: TracerInstant>(_ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
                                         at instant: @autoclosure () -> Instant, function: String, file fileID: String,
                                         line: UInt) -> NoOpTracer.NoOpSpan {
    started.add(1, ordering: .relaxed)
    return NoOpTracer.NoOpSpan(context: context())
  }
  func startAnySpan<Instant: TracerInstant>(_ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
                                            at instant: @autoclosure () -> Instant, function: String, file fileID: String,
                                            line: UInt) -> any Tracing.Span {
    startSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line)
  }
  func forceFlush() {}
  func inject<Carrier, Inject>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Carrier == Inject.Carrier {}
  func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract: Extractor, Carrier == Extract.Carrier {}
}
