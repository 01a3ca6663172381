import FunnelCore

/// Where a Redis server is: parsed from `redis://[:password@]host[:port][/db]`.
public struct RedisEndpoint: Hashable, Sendable {
  public var host: String
  public var port: Int
  public var database: Int
  public var password: String?

  /// Parses a redis URL; throws `RedisError` naming the URL and the problem.
  public init(url: String) throws {
    guard url.hasPrefix("redis://") else { throw RedisError("'\(url)': a Redis URL starts with redis://") }
    var rest = Substring(url.dropFirst("redis://".count))
    password = nil
    if let at = rest.lastIndex(of: "@") {
      let credentials = rest[..<at]
      password = String(credentials.split(separator: ":", maxSplits: 1).last ?? "")
      rest = rest[rest.index(after: at)...]
    }
    var db = 0
    if let slash = rest.firstIndex(of: "/") {
      let dbText = rest[rest.index(after: slash)...]
      if !dbText.isEmpty {
        guard let n = Int(dbText), n >= 0 else { throw RedisError("'\(url)': database '\(dbText)' is not a number") }
        db = n
      }
      rest = rest[..<slash]
    }
    database = db
    if let colon = rest.lastIndex(of: ":") {
      guard let p = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(p) else {
        throw RedisError("'\(url)': port must be 1...65535")
      }
      port = p
      host = String(rest[..<colon])
    } else {
      port = 6379
      host = String(rest)
    }
    guard !host.isEmpty else { throw RedisError("'\(url)': no host") }
  }
}
