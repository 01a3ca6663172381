import FunnelCore
import FunnelJSON
import FunnelSecurity
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime

/// The one map from errors to HTTP answers (as `ErrorStatusMapping` is for gRPC): bad input 400
/// naming the field, an unknown item 404, limits 429 and a store or deadline 503, both with
/// `Retry-After`; a store failure's detail (addresses) is logged, never sent. Nothing was done, so
/// the client may retry (ingestion is idempotent by event id). Rendered as an RFC 9457 problem
/// (`application/problem+json`).
struct HTTPFailure: Error {
  var status: HTTPResponse.Status
  /// The gRPC-style code name (`invalidArgument`, `unavailable`, ...).
  var code: String
  var message: String
  /// The request field at fault, when one was.
  var field: String?
  /// `Retry-After` of a 429 or 503, seconds.
  var retryAfterSeconds = 1


  /// `error` classified; `route` names where it happened in the log line of a store failure or a bug.
  static func from(_ error: any Error, route: String, logger: Logger) -> HTTPFailure {
    switch error {
    case let failure as HTTPFailure:
      return failure
    case let error as CallerLimits.Refusal:
      var failure = HTTPFailure(status: .tooManyRequests, code: "resourceExhausted", message: error.message)
      failure.retryAfterSeconds = max(1, Int((Double(error.retryAfter / .milliseconds(1)) / 1_000).rounded(.up)))
      return failure
    case let error as AuthFailure:
      switch error {
      case .unauthenticated(let message): return HTTPFailure(status: .unauthorized, code: "unauthenticated", message: message)
      case .permissionDenied(let message): return HTTPFailure(status: .forbidden, code: "permissionDenied", message: message)
      }
    case let error as FunnelError:
      let status: HTTPResponse.Status = switch error.kind {
      case .invalidArgument: .badRequest
      case .notFound: .notFound
      case .failedPrecondition: .conflict
      case .unavailable, .deadlineExceeded: .serviceUnavailable
      case .resourceExhausted: .tooManyRequests
      case .internal: .internalServerError
      }
      return HTTPFailure(status: status, code: error.kind.rawValue, message: error.message,
                         field: error.kind == .invalidArgument ? Self.field(in: error.message) : nil)
    case let error as any StoreFailure:
      logger.warning("a store failed", metadata: ["route": "\(route)", "error": "\(error)"])
      return HTTPFailure(status: .serviceUnavailable, code: "unavailable", message: error.clientMessage)
    case let error as ServerError:
      // The generated JSON API's: the handler's own error, or the runtime's (a body that does not
      // decode, a wrong content type), which carries its status.
      switch error.underlyingError {
      case is FunnelError, is DecodingError, is any StoreFailure, is HTTPFailure:
        return from(error.underlyingError, route: route, logger: logger)
      default:
        guard error.httpStatus != .internalServerError else { return from(error.underlyingError, route: route, logger: logger) }
        return HTTPFailure(status: error.httpStatus, code: "invalidArgument",
                           message: "\(error.underlyingError)")
      }
    case let error as DecodingError:
      let (path, problem) = Self.describe(error)
      return HTTPFailure(status: .badRequest, code: "invalidArgument", message: path.isEmpty ? problem : "\(path): \(problem)",
                         field: path.isEmpty ? nil : path)
    case let error as any HTTPResponseError:
      return HTTPFailure(status: error.status, code: error.status == .notFound ? "notFound" : "invalidArgument",
                         message: error.status.reasonPhrase)
    default:
      logger.error("request failed", metadata: ["route": "\(route)", "error": "\(String(reflecting: error))"])
      return HTTPFailure(status: .internalServerError, code: "internal", message: "internal error")
    }
  }

  /// An RFC 9457 problem: `type` is `about:blank` (the status says it all), `field` names the input.
  func problem() -> Response {
    var body = Array("{\"type\":\"about:blank\",\"title\":".utf8)
    appendString(status.reasonPhrase, to: &body)
    body += Array(",\"status\":\(status.code),\"detail\":".utf8)
    appendString(message, to: &body)
    if let field {
      body += Array(",\"field\":".utf8)
      appendString(field, to: &body)
    }
    body.append(UInt8(ascii: "}"))
    return withRetryHint(HTTPRoutes.response(status, contentType: "application/problem+json", body: body))
  }

  private func withRetryHint(_ response: Response) -> Response {
    if status == .unauthorized {
      var response = response
      response.headers[.wwwAuthenticate] = "Bearer"
      return response
    }
    guard status == .serviceUnavailable || status == .tooManyRequests else { return response }
    var response = response
    response.headers[.retryAfter] = String(retryAfterSeconds)
    return response
  }

  private func appendString(_ s: String, to out: inout [UInt8]) { JSONText.appendString(s, to: &out) }

  /// The field a validation message starts with (`user_id: is empty` -> `user_id`).
  static func field(in message: String) -> String? {
    guard let colon = message.firstIndex(of: ":") else { return nil }
    let name = message[..<colon]
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_.[]".contains($0) }) else { return nil }
    return String(name)
  }

  /// (the path of the bad value, what was wrong) from a JSON decoding error, in snake_case as sent.
  static func describe(_ error: DecodingError) -> (String, String) {
    func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
      var parts: [String] = []
      for key in context.codingPath + (last.map { [$0] } ?? []) {
        if let index = key.intValue { parts.append("[\(index)]") } else { parts.append((parts.isEmpty ? "" : ".") + key.stringValue) }
      }
      return parts.joined()
    }
    switch error {
    case .keyNotFound(let key, let context): return (path(context, key), "is required")
    case .typeMismatch(let type, let context): return (path(context), "must be \(Self.name(of: type))")
    case .valueNotFound(let type, let context): return (path(context), "must be \(Self.name(of: type)), not null")
    case .dataCorrupted(let context): return (path(context), context.debugDescription)
    @unknown default: return ("", "the body does not decode")
    }
  }

  private static func name(of type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "true or false"
    case is Int32.Type, is Int.Type, is Int64.Type: "an integer"
    case is Double.Type, is Float.Type: "a number"
    default: "\(type)".hasPrefix("Array") ? "an array" : "an object"
    }
  }
}
