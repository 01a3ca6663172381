import FunnelSecurity
import GRPCCore
import FunnelCore
import Logging

/// The one place where errors become gRPC statuses.
///
/// `FunnelError`s map by kind; `RPCError`s pass through; a store that is down (`StoreFailure`) is
/// UNAVAILABLE with gRPC's retry pushback (`grpc-retry-pushback-ms`) and no address in the message;
/// cancellation (the deadline passed or the client went away) is DEADLINE_EXCEEDED; anything else
/// is INTERNAL with a generic message, so no internal detail leaks to callers.
public enum ErrorStatusMapping {
  /// The status code for a domain error kind.
  public static func code(for kind: FunnelError.Kind) -> RPCError.Code {
    switch kind {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .failedPrecondition: .failedPrecondition
    case .deadlineExceeded: .deadlineExceeded
    case .unavailable: .unavailable
    case .resourceExhausted: .resourceExhausted
    case .internal: .internalError
    }
  }

  /// Converts any error thrown by a handler into the `RPCError` sent to the client.
  public static func rpcError(from error: any Error) -> RPCError {
    switch error {
    case let error as RPCError: return error
    case let error as FunnelError:
      var mapped = RPCError(code: code(for: error.kind), message: error.message)
      if error.kind == .unavailable || error.kind == .resourceExhausted { mapped.metadata = retryPushback }
      return mapped
    case let error as any StoreFailure:
      return RPCError(code: .unavailable, message: error.clientMessage, metadata: retryPushback, cause: error)
    case let error as AuthFailure:
      switch error {
      case .unauthenticated(let message): return RPCError(code: .unauthenticated, message: message)
      case .permissionDenied(let message): return RPCError(code: .permissionDenied, message: message)
      }
    case let error as CallerLimits.Refusal:
      let ms = max(1, Int(error.retryAfter / .milliseconds(1)))
      return RPCError(code: .resourceExhausted, message: error.message + "; retry after \(ms) ms",
                      metadata: ["grpc-retry-pushback-ms": "\(ms)"])
    case is CancellationError: return RPCError(code: .deadlineExceeded, message: "the call was cancelled or its deadline passed")
    default: return RPCError(code: .internalError, message: "internal error", cause: error)
    }
  }

  /// Milliseconds a client should wait before retrying an UNAVAILABLE or RESOURCE_EXHAUSTED call.
  public static let retryAfterMs = 1_000

  /// gRPC's server pushback (the retry design, A6): the client's retry policy waits this long.
  static var retryPushback: Metadata { ["grpc-retry-pushback-ms": "\(retryAfterMs)"] }

  /// The status-code name as gRPC spells it (`OK`, `INVALID_ARGUMENT`, ...): per-row batch errors
  /// and the `code` label of `RPCMetrics`.
  public static func codeName(_ code: Status.Code) -> String {
    switch code {
    case .ok: "OK"
    case .cancelled: "CANCELLED"
    case .invalidArgument: "INVALID_ARGUMENT"
    case .deadlineExceeded: "DEADLINE_EXCEEDED"
    case .notFound: "NOT_FOUND"
    case .alreadyExists: "ALREADY_EXISTS"
    case .permissionDenied: "PERMISSION_DENIED"
    case .resourceExhausted: "RESOURCE_EXHAUSTED"
    case .failedPrecondition: "FAILED_PRECONDITION"
    case .aborted: "ABORTED"
    case .outOfRange: "OUT_OF_RANGE"
    case .unimplemented: "UNIMPLEMENTED"
    case .internalError: "INTERNAL"
    case .unavailable: "UNAVAILABLE"
    case .dataLoss: "DATA_LOSS"
    case .unauthenticated: "UNAUTHENTICATED"
    default: "UNKNOWN"
    }
  }

  /// Runs a handler body, converting whatever it throws with `rpcError(from:)`; INTERNAL errors are logged
  /// with their cause, since the client only sees a generic message.
  static func mapping<T>(_ logger: Logger, _ method: String, _ body: () async throws -> T) async throws(RPCError) -> T {
    do {
      return try await body()
    } catch {
      let mapped = rpcError(from: error)
      if mapped.code == .internalError {
        logger.error("handler failed", metadata: ["method": "\(method)", "error": "\(String(reflecting: error))"])
      } else if let failure = error as? any StoreFailure {
        logger.warning("a store failed", metadata: ["method": "\(method)", "error": "\(failure)"])
      }
      throw mapped
    }
  }
}
