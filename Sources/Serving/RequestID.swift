import Logging

/// The id of the request a task is serving: made by the transport when a call arrives (one per
/// BatchRecommend row), returned to the client as the answer's `request_id` (which events send back
/// for attribution), and put on every log line written while the request runs (`metadataProvider`),
/// so the lines about one request can be found together. A task-local; thread-safe.
public enum RequestID {
  /// The id of the request the current task serves; nil outside one.
  @TaskLocal public static var current: String?

  /// A new random id: 16 hex digits. Uniform, so ids of different replicas do not collide in practice.
  public static func make() -> String {
    let hex = String(UInt64.random(in: 1...UInt64.max), radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }

  /// Runs `body` as a request with a new id.
  public static func withNew<T>(_ body: () async throws -> T) async rethrows -> T {
    try await $current.withValue(make()) { try await body() }
  }

  /// Adds `request_id` to a log line written inside a request.
  public static let metadataProvider = Logger.MetadataProvider {
    guard let id = current else { return [:] }
    return ["request_id": .string(id)]
  }
}
