import NIOCore
import NIOHPACK

/// What a handler learns about its call besides the request. Sendable; built once per call.
public struct WireCall: Sendable {
  /// The method's path, e.g. `/funnel.v1.Recommender/Recommend`.
  public let path: String
  /// The request headers (custom metadata included; pseudo-headers too).
  public let headers: HPACKHeaders
  /// When the client's `grpc-timeout` runs out, if it sent one. The server also ends the call with
  /// DEADLINE_EXCEEDED then (and cancels the handler's task); handlers use it to budget their work.
  public let deadline: ContinuousClock.Instant?
  /// The client's address, e.g. `ipv4:127.0.0.1:51234`.
  public let remotePeer: String
  /// The server's address of the connection.
  public let localPeer: String
  /// The connection the call came on (nil only in handlers' tests).
  public let connection: WireConnectionLink?

  /// A call description (the server builds these; public for handlers' tests).
  public init(path: String, headers: HPACKHeaders, deadline: ContinuousClock.Instant?, remotePeer: String, localPeer: String,
              connection: WireConnectionLink? = nil) {
    self.path = path
    self.headers = headers
    self.deadline = deadline
    self.remotePeer = remotePeer
    self.localPeer = localPeer
    self.connection = connection
  }
}

/// How a method is served. Handlers throw `RPCError` for a status of their choosing; anything else
/// they throw ends the call with INTERNAL ("internal error"), a `CancellationError` with CANCELLED.
public enum WireMethod: Sendable {
  /// One request message in (its bytes, without gRPC's prefix), one response message out, with
  /// response metadata of the handler's.
  case unary(@Sendable (ByteBuffer, WireCall) async throws -> WireReply)
  /// Request messages as they arrive (client streaming or bidirectional; a server-streaming method
  /// reads its one request from the sequence) and response messages written as produced.
  case streaming(@Sendable (WireInboundMessages, WireResponseWriter, WireCall) async throws -> Void)
}

/// A unary call's answer: the response message and custom metadata for the response headers
/// (`traceparent`, say). Names must be lowercase and not reserved (`grpc-*`, pseudo-headers): the
/// transport's own headers are not overridden; values must be printable ASCII (checked, else dropped).
public struct WireReply: Sendable {
  /// The response message's bytes (without gRPC's prefix).
  public var message: [UInt8]
  /// Custom response metadata, in order.
  public var metadata: [(name: String, value: String)]

  public init(_ message: [UInt8], metadata: [(name: String, value: String)] = []) {
    self.message = message
    self.metadata = metadata
  }

  /// Whether `name: value` may go into response headers as custom metadata.
  static func isCustom(_ name: String, _ value: String) -> Bool {
    !name.isEmpty && !name.hasPrefix(":") && !name.hasPrefix("grpc-") && name != "content-type"
      && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e }
      && value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
  }
}

/// A method as registered: how it is served, and whether its calls go through admission control.
public struct WireRoute: Sendable {
  /// The handler.
  public let method: WireMethod
  /// False for methods that must answer however busy the server is (health checks): their calls
  /// never wait for a slot. They should be cheap.
  public let admitted: Bool
}

/// Checks a call before its handler runs (authentication, authorisation, per-caller limits):
/// throwing ends the call with that status (an `RPCError`'s code; anything else INTERNAL) and the
/// handler never runs. A function it returns runs once when the call ends (a per-caller slot given
/// back). Runs in the call's task, after admission, for every routed method.
public typealias WireCallGuard = @Sendable (WireCall) async throws -> (@Sendable () -> Void)?

/// Methods by path. Built before the server starts; read-only afterwards (thread-safe then).
public struct WireRouter: Sendable {
  private(set) var routes: [String: WireRoute] = [:]
  /// Run before every routed call's handler; nil: none.
  public var callGuard: WireCallGuard?

  /// An empty router (every call UNIMPLEMENTED).
  public init() {}

  /// Serves `path` (`/package.Service/Method`) with `method`; a second registration replaces the
  /// first. `admitted: false` exempts its calls from admission control (see `WireRoute.admitted`).
  public mutating func register(_ path: String, _ method: WireMethod, admitted: Bool = true) {
    routes[path] = WireRoute(method: method, admitted: admitted)
  }

  /// The route at `path`, if served. O(1).
  func route(at path: String) -> WireRoute? { routes[path] }
}
