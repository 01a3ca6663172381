import FunnelCore

/// A Redis connection or protocol failure, with the endpoint and what failed.
public struct RedisError: StoreFailure, Hashable {
  public let message: String
  /// Always `redis`.
  public var store: String { "redis" }
  /// Creates an error.
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
