/// What a caller may do. Granted to API keys in the configuration and to JWTs in their `scope`
/// (space-separated, as OAuth 2.0 issues it) or `scp` (a list) claim.
public enum Scope: String, Sendable, CaseIterable, Hashable {
  /// Recommend, Search, BatchRecommend and their JSON forms; item lookup.
  case recommend
  /// Track and `POST /v1/events`.
  case eventsWrite = "events:write"
  /// The Admin service (status, reload, erasure, experiment reports).
  case admin
  /// UpsertItems and DeleteItems (the catalog system's live changes), without the rest of Admin.
  case catalog
  /// `GET /metrics`.
  case metrics
  /// The live operations dashboard (its pages, pushes and alarm states), for people who should
  /// see trade figures but not run the Admin service.
  case dashboard

  /// Whether holding `scopes` grants this scope: `admin` grants `dashboard` and `catalog` too.
  public func isGranted(by scopes: Set<Scope>) -> Bool {
    scopes.contains(self) || ((self == .dashboard || self == .catalog) && scopes.contains(.admin))
  }
}
