/// How Funnel reaches Redis, parsed from a URL:
/// - `redis://[[user]:password@]host[:port][/db]`: one server (`RedisEndpoint`).
/// - `redis-cluster://[[user]:password@]h1:p1,h2:p2,...`: a Redis Cluster, found from any of the
///   seed nodes (`CLUSTER SLOTS`); database 0 only (a cluster has no other).
/// - `redis-sentinel://[[user]:password@]s1:p1,s2:p2,.../PRIMARY[/db]`: the primary that the
///   Sentinels at s1, s2, … name `PRIMARY` (`SENTINEL get-master-addr-by-name`), asked again after
///   a failover; the credentials are the data nodes' (Sentinels are asked without). Sentinel port
///   26379 by default.
///
/// `rediss://` is refused: Debian 12's hiredis (0.14) has no TLS. Pure value; thread-safe.
public enum RedisDeployment: Hashable, Sendable {
  case single(RedisEndpoint)
  case cluster(seeds: [RedisEndpoint])
  case sentinel(sentinels: [RedisEndpoint], primary: String, template: RedisEndpoint)

  /// Parses `url`; throws `RedisError` naming the URL (credentials masked) and the problem.
  public init(url: String) throws {
    let shown = Self.redacted(url)
    if url.hasPrefix("redis://") {
      self = .single(try RedisEndpoint(url: url))
    } else if url.hasPrefix("redis-cluster://") {
      let (credentials, rest) = Self.splitCredentials(url.dropFirst("redis-cluster://".count))
      if rest.contains("/") {
        let path = rest[rest.firstIndex(of: "/")!...]
        guard path == "/" || path == "/0" else { throw RedisError("'\(shown)': a Redis Cluster has only database 0") }
      }
      let hosts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
      self = .cluster(seeds: try Self.hosts(hosts, credentials: credentials, defaultPort: 6379, url: shown))
    } else if url.hasPrefix("redis-sentinel://") {
      let (credentials, rest) = Self.splitCredentials(url.dropFirst("redis-sentinel://".count))
      let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count >= 2, !parts[1].isEmpty else {
        throw RedisError("'\(shown)': a Sentinel URL names the primary: redis-sentinel://host:26379/NAME")
      }
      guard parts.count <= 3 else { throw RedisError("'\(shown)': expected redis-sentinel://hosts/NAME[/db]") }
      let database = parts.count == 3 && !parts[2].isEmpty ? parts[2] : "0"
      let template = try RedisEndpoint(url: "redis://" + (credentials.map { $0 + "@" } ?? "") + "template/" + database)
      let sentinels = try Self.hosts(parts[0], credentials: nil, defaultPort: 26_379, url: shown)
      self = .sentinel(sentinels: sentinels, primary: String(parts[1]), template: template)
    } else if url.hasPrefix("rediss://") {
      throw RedisError("'\(shown)': TLS to Redis (rediss://) is not supported: Debian 12's hiredis 0.14 has no TLS; "
                       + "reach Redis over a private network or a TLS tunnel")
    } else {
      throw RedisError("'\(shown)': a Redis URL starts with redis://, redis-cluster:// or redis-sentinel://")
    }
  }

  /// `url` with any password replaced by `***` (for logs and errors).
  public static func redacted(_ url: String) -> String {
    guard let scheme = url.range(of: "://") else { return url }
    let rest = url[scheme.upperBound...]
    guard let at = rest.lastIndex(of: "@") else { return url }
    let credentials = rest[..<at]
    let user = credentials.firstIndex(of: ":").map { credentials[..<$0] }
    return String(url[..<scheme.upperBound]) + (user.map { $0 + ":" } ?? "") + "***" + rest[at...]
  }

  /// Every server named in the URL (seeds or Sentinels), for messages.
  public var description: String {
    switch self {
    case .single(let e): "\(e.host):\(e.port)"
    case .cluster(let seeds): "cluster " + seeds.map { "\($0.host):\($0.port)" }.joined(separator: ",")
    case .sentinel(let sentinels, let primary, _):
      "sentinel primary '\(primary)' via " + sentinels.map { "\($0.host):\($0.port)" }.joined(separator: ",")
    }
  }

  private static func splitCredentials(_ text: Substring) -> (String?, Substring) {
    // Credentials end at the last '@' before the first '/' (a path never holds credentials).
    let authority = text.firstIndex(of: "/").map { text[..<$0] } ?? text
    guard let at = authority.lastIndex(of: "@") else { return (nil, text) }
    return (String(text[..<at]), text[text.index(after: at)...])
  }

  private static func hosts(_ list: Substring, credentials: String?, defaultPort: Int, url: String) throws -> [RedisEndpoint] {
    let names = list.split(separator: ",", omittingEmptySubsequences: false)
    guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }) else { throw RedisError("'\(url)': empty host in the list") }
    guard names.count <= 64 else { throw RedisError("'\(url)': at most 64 hosts") }
    return try names.map { name in
      var endpoint = try RedisEndpoint(url: "redis://" + (credentials.map { $0 + "@" } ?? "") + name)
      if !name.contains(":") { endpoint.port = defaultPort }
      return endpoint
    }
  }
}
