import FunnelCore

/// Sends events to a primary sink, whose answer counts, then to a mirror (e.g. Redis as the shared
/// real-time store, and the in-process log that index rebuilds read). The mirror de-duplicates on its
/// own; a mirror failure is not the caller's failure once the primary has stored the events.
/// Thread-safe if both sinks are.
public struct TeeEventSink: EventSink {
  public let primary: any EventSink
  public let mirror: any EventSink

  /// A sink writing to `primary`, then `mirror`.
  public init(primary: any EventSink, mirror: any EventSink) {
    self.primary = primary
    self.mirror = mirror
  }

  public func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult {
    let result = try await primary.append(events)
    _ = try? await mirror.append(events)
    return result
  }

  public func forget(user: UserID) async throws -> Int {
    let removed = try await primary.forget(user: user)
    let mirrored = (try? await mirror.forget(user: user)) ?? 0
    return max(removed, mirrored)
  }
}
