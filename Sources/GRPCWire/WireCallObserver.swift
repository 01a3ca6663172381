/// Told when a routed call ends (its status written): the method's path (`/package.Service/Method`,
/// one of the router's, never a client's unknown path), the gRPC status code (0 = OK) and the time
/// since its headers arrived. Called on the connection's event loop, so it must be cheap (a metric).
public typealias WireCallObserver = @Sendable (_ path: String, _ code: Int, _ elapsed: Duration) -> Void
