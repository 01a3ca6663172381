/// Whether the request being served is traced: its span records (sampled, or a test's tracer). The
/// pipeline's stage, channel and store spans are made only then: an unsampled request (most of them
/// at the default 1% sampling) would otherwise make a dozen spans nobody keeps, each with ids and a
/// context to build. A task-local; thread-safe.
enum SpanGate {
  /// True inside a request whose span records.
  @TaskLocal static var recording = false
}
