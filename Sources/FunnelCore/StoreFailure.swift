/// An error of a backing store (Redis, MongoDB): it is down, unreachable, or refused the operation.
///
/// Callers see these as UNAVAILABLE (gRPC) or 503 (HTTP) with a retry hint, never INTERNAL: the
/// request was fine and retrying it later may succeed. `description` may name internal addresses
/// and hosts, so it is logged, never sent; clients see only `store`.
public protocol StoreFailure: Error, CustomStringConvertible, Sendable {
  /// The kind of store, e.g. `redis`, for the message clients see.
  var store: String { get }
}

extension StoreFailure {
  /// What a client is told: the store by kind, no address.
  public var clientMessage: String { "the \(store) store is unavailable; retry later" }
}
