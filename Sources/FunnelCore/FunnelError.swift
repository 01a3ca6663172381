/// The one error type of Funnel's domain code.
///
/// `kind` decides the gRPC status code (mapped in exactly one place, `FunnelGRPC`); `message` names the
/// bad input and where it is (a request field, a file and offset) so the caller can fix it.
public struct FunnelError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong, in the vocabulary of gRPC status codes.
  public enum Kind: String, Hashable, Sendable {
    /// The caller sent something invalid; retrying the same request will fail again.
    case invalidArgument
    /// Something the request names does not exist.
    case notFound
    /// The state of the system does not allow the operation (e.g. a reload whose input is corrupt).
    case failedPrecondition
    /// The deadline passed before the work was done.
    case deadlineExceeded
    /// A dependency (store, server) is down or the server is shutting down; retrying may help.
    case unavailable
    /// A quota or a concurrency limit was hit.
    case resourceExhausted
    /// A bug: an invariant failed in a way that is not the caller's fault.
    case `internal`
  }

  /// The category, which decides the status code.
  public var kind: Kind
  /// A human-readable message naming the input at fault.
  public var message: String

  /// Creates an error of `kind` with `message`.
  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  /// An `invalidArgument` error about request field `field`.
  public static func invalidArgument(field: String, _ problem: String) -> FunnelError {
    FunnelError(.invalidArgument, "\(field): \(problem)")
  }

  public var description: String { "\(kind.rawValue): \(message)" }
}
