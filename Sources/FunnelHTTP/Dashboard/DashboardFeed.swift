import Synchronization

/// Fans the dashboard's pushes out to every open page: the indicator service publishes each
/// message once (already encoded as a server-sent event), and each viewer's stream gets it. A slow
/// viewer keeps only its newest `buffered` messages (older ones are dropped: a wall screen that
/// stalls catches up with the present, it does not replay the past), so memory is bounded by
/// viewers x buffered; at most `maxViewers` pages are open at once. Thread-safe; `publish` is
/// O(viewers) and never waits.
public final class DashboardFeed: Sendable {
  private struct State {
    var viewers: [Int: AsyncStream<[UInt8]>.Continuation] = [:]
    var next = 0
    /// The last full view, sent first to a page that opens the stream.
    var lastView: [UInt8]?
  }
  private let state = Mutex(State())
  public let maxViewers: Int
  public let buffered: Int

  /// A feed for at most `maxViewers` open pages.
  public init(maxViewers: Int = 1_000, buffered: Int = 8) {
    self.maxViewers = maxViewers
    self.buffered = buffered
  }

  /// Viewers open now.
  public var viewers: Int { state.withLock { $0.viewers.count } }

  /// A stream of the messages published from now on (the last full view first, if any); nil when
  /// `maxViewers` are open. The stream ends, and the viewer is removed, when its consumer stops.
  public func subscribe() -> AsyncStream<[UInt8]>? {
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(buffered))
    let admitted = state.withLock { s -> Bool in
      guard s.viewers.count < maxViewers else { return false }
      let id = s.next
      s.next += 1
      s.viewers[id] = continuation
      if let view = s.lastView { continuation.yield(view) }
      continuation.onTermination = { [weak self] _ in self?.remove(id) }
      return true
    }
    return admitted ? stream : nil
  }

  /// Sends `message` to every viewer; `isView` keeps it as the first message of later viewers.
  public func publish(_ message: [UInt8], isView: Bool = false) {
    let viewers = state.withLock { s in
      if isView { s.lastView = message }
      return Array(s.viewers.values)
    }
    for viewer in viewers { viewer.yield(message) }
  }

  /// Ends every stream (shutdown).
  public func finish() {
    let viewers = state.withLock { s in defer { s.viewers = [:] }; return Array(s.viewers.values) }
    for viewer in viewers { viewer.finish() }
  }

  private func remove(_ id: Int) { _ = state.withLock { $0.viewers.removeValue(forKey: id) } }

  /// `data` as one server-sent event of type `event` (the JSON has no newlines: one `data:` line).
  public static func event(_ event: String, json: [UInt8]) -> [UInt8] {
    Array("event: \(event)\ndata: ".utf8) + json + Array("\n\n".utf8)
  }
}
