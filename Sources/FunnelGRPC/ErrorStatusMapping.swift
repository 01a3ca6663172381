import GRPCCore
import FunnelCore
import Logging

/// The one place where errors become gRPC statuses.
///
/// `FunnelError`s map by kind; `RPCError`s pass through; cancellation (the deadline passed or the
/// client went away) is DEADLINE_EXCEEDED; anything else is INTERNAL with a generic message, so no
/// internal detail leaks to callers.
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
    case let error as FunnelError: return RPCError(code: code(for: error.kind), message: error.message)
    case is CancellationError: return RPCError(code: .deadlineExceeded, message: "the call was cancelled or its deadline passed")
    default: return RPCError(code: .internalError, message: "internal error", cause: error)
    }
  }

  /// The status-code name used in per-row batch errors, e.g. `INVALID_ARGUMENT`.
  public static func codeName(_ code: RPCError.Code) -> String {
    switch code {
    case .invalidArgument: "INVALID_ARGUMENT"
    case .notFound: "NOT_FOUND"
    case .failedPrecondition: "FAILED_PRECONDITION"
    case .deadlineExceeded: "DEADLINE_EXCEEDED"
    case .unavailable: "UNAVAILABLE"
    case .resourceExhausted: "RESOURCE_EXHAUSTED"
    case .cancelled: "CANCELLED"
    case .internalError: "INTERNAL"
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
      }
      throw mapped
    }
  }
}
