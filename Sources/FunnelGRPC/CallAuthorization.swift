import FunnelSecurity
import GRPCCore
import GRPCWire

/// The gRPC side of authentication: a `WireCallGuard` that reads a call's `authorization` (or
/// `x-api-key`) metadata and lets it run only when `AccessPolicy` and the `Authenticator` allow and
/// the caller is within its limits, else ends it with UNAUTHENTICATED, PERMISSION_DENIED or
/// RESOURCE_EXHAUSTED (mapped in `ErrorStatusMapping`). Refusals are
/// counted by the RPC metrics under their codes like any other status.
public enum CallAuthorization {
  /// The guard for `authenticator`; nil when authentication is off (no cost per call then). Refused
  /// Admin calls are recorded in `audit` (the ones let through are recorded by the Admin service).
  public static func guarding(_ authenticator: Authenticator, audit: AdminAudit? = nil) -> WireCallGuard? {
    guard authenticator.isEnabled else { return nil }
    return { call in
      do {
        return try await authenticator.admit(AccessPolicy.grpc(call.path), authorization: call.headers.first(name: "authorization"),
                                             apiKey: call.headers.first(name: "x-api-key"),
                                             connection: call.connection.map { link in
                                               CallerConnection(id: link.id, whenClosed: { link.whenClosed($0) }) })
      } catch {
        let status = ErrorStatusMapping.rpcError(from: error)
        if let audit, call.path.hasPrefix("/funnel.v1.Admin/") {
          await audit.refused(String(call.path.dropFirst("/funnel.v1.Admin/".count)), FunnelWireRoutes.metadata(call), error: status)
        }
        throw status
      }
    }
  }
}
