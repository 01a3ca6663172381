import Synchronization

/// The scene and experiment arm of the answers given recently, by request id, so that a click or a
/// purchase naming an answer's `request_id` counts for the recommendation indicators at once. Holds
/// the last `capacity` answers (older ones are forgotten first). Answers given by another replica
/// are not here; with Redis, `RedisAnswerOrigins` shares them. Thread-safe; O(1) per call.
public final class RecentAnswers: Sendable {
  private struct State {
    var origins: [String: AnswerOrigin] = [:]
    var ring: [String]
    var next = 0
  }
  private let state: Mutex<State>
  /// Answers remembered.
  public let capacity: Int

  /// A map of at most `capacity` answers.
  public init(capacity: Int = 262_144) {
    self.capacity = max(1, capacity)
    state = Mutex(State(ring: Array(repeating: "", count: max(1, capacity))))
  }

  /// Remembers that answer `requestID` was given for `origin`.
  public func remember(_ requestID: String, _ origin: AnswerOrigin) {
    guard !requestID.isEmpty else { return }
    state.withLock { s in
      let evicted = s.ring[s.next]
      if !evicted.isEmpty { s.origins[evicted] = nil }
      s.ring[s.next] = requestID
      s.origins[requestID] = origin
      s.next = (s.next + 1) % s.ring.count
    }
  }

  /// The origin of answer `requestID`, if remembered.
  public func origin(of requestID: String) -> AnswerOrigin? { state.withLock { $0.origins[requestID] } }
}
