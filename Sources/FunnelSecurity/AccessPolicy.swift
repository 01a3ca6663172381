/// What each RPC and route requires: the one place the API's access rules live, read by the gRPC
/// guard and the HTTP middleware alike. Health checks and the API description stay open (balancers
/// and probes carry no credentials); everything else needs its scope.
public enum AccessPolicy {
  /// What a call needs before it runs.
  public enum Requirement: Sendable, Equatable {
    /// Anyone, with or without credentials.
    case open
    /// Valid credentials holding this scope.
    case scope(Scope)
    /// Valid credentials of any scope (a path the API does not have: refused as unknown only to
    /// callers who may know).
    case authenticated
  }

  /// The requirement of the gRPC method at `path` (`/funnel.v1.Recommender/Recommend`). O(path),
  /// no allocation (it runs on every call).
  public static func grpc(_ path: String) -> Requirement {
    let service = path.utf8.dropFirst().prefix { $0 != UInt8(ascii: "/") }
    if service.elementsEqual("funnel.v1.Recommender".utf8) { return .scope(.recommend) }
    if service.elementsEqual("funnel.v1.EventCollector".utf8) { return .scope(.eventsWrite) }
    if service.elementsEqual("funnel.v1.Admin".utf8) {
      // The catalog system may post live changes without holding the rest of Admin.
      let method = path.utf8.dropFirst(service.count + 2)
      if method.elementsEqual("UpsertItems".utf8) || method.elementsEqual("DeleteItems".utf8) { return .scope(.catalog) }
      return .scope(.admin)
    }
    if service.elementsEqual("grpc.health.v1.Health".utf8) { return .open }
    return .authenticated
  }

  /// The requirement of a request to the dashboard's listener: its pages, pushes and alarm
  /// states need `dashboard` (or `admin`); `/healthz` stays open for probes.
  public static func dashboard(route: String?) -> Requirement {
    route == "/healthz" ? .open : .scope(.dashboard)
  }

  /// The requirement of an HTTP request to the matched `route` (`/v1/items/{item_id}`; nil when no
  /// route matched) with `method`. CORS preflights (OPTIONS) are open: browsers send them without
  /// credentials.
  public static func http(method: String, route: String?) -> Requirement {
    if method == "OPTIONS" { return .open }
    switch route {
    case "/v1/recommend", "/v1/search", "/v1/suggest", "/v1/items/{item_id}": return .scope(.recommend)
    case "/v1/events", "/v1/orders": return .scope(.eventsWrite)
    case "/v1/catalog/items", "/v1/catalog/deletions": return .scope(.catalog)
    case "/metrics": return .scope(.metrics)
    case "/healthz", "/readyz", "/openapi.yaml", nil: return .open
    default: return .authenticated
    }
  }
}
