import FunnelCore

/// Where a Redis server is: parsed from `redis://[[user]:password@]host[:port][/db]` (the form of
/// the IANA `redis` URI scheme; user and password percent-decoded, so either may hold `@`, `:` or
/// `/` written as `%40`, `%3A`, `%2F`). With a user, connections authenticate as that Redis 6 ACL
/// user (`AUTH user password`); with a password only, as the default user.
public struct RedisEndpoint: Hashable, Sendable {
  public var host: String
  public var port: Int
  public var database: Int
  /// The ACL user, or nil for the default user.
  public var user: String?
  public var password: String?

  /// `host:port`, as Redis names nodes.
  public var address: String { "\(host):\(port)" }

  /// This endpoint's credentials and database at another node.
  public func at(host: String, port: Int) -> RedisEndpoint {
    var copy = self
    copy.host = host
    copy.port = port
    return copy
  }

  /// Parses a redis URL; throws `RedisError` naming the URL and the problem.
  public init(url: String) throws {
    let shown = RedisDeployment.redacted(url)
    guard url.hasPrefix("redis://") else { throw RedisError("'\(shown)': a Redis URL starts with redis://") }
    var rest = Substring(url.dropFirst("redis://".count))
    password = nil
    user = nil
    if let at = rest.lastIndex(of: "@") {
      let credentials = rest[..<at]
      if let colon = credentials.firstIndex(of: ":") {
        let name = try Self.decoded(credentials[..<colon], url: url)
        user = name.isEmpty ? nil : name
        password = try Self.decoded(credentials[credentials.index(after: colon)...], url: url)
      } else {
        password = try Self.decoded(credentials, url: url)
      }
      rest = rest[rest.index(after: at)...]
    }
    var db = 0
    if let slash = rest.firstIndex(of: "/") {
      let dbText = rest[rest.index(after: slash)...]
      if !dbText.isEmpty {
        guard let n = Int(dbText), n >= 0 else { throw RedisError("'\(shown)': database '\(dbText)' is not a number") }
        db = n
      }
      rest = rest[..<slash]
    }
    database = db
    if let colon = rest.lastIndex(of: ":") {
      guard let p = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(p) else {
        throw RedisError("'\(shown)': port must be 1...65535")
      }
      port = p
      host = String(rest[..<colon])
    } else {
      port = 6379
      host = String(rest)
    }
    guard !host.isEmpty else { throw RedisError("'\(shown)': no host") }
  }

  /// `text` with `%XX` escapes decoded as UTF-8; throws naming the URL for a bad escape.
  static func decoded(_ text: Substring, url: String) throws -> String {
    guard text.contains("%") else { return String(text) }
    var bytes: [UInt8] = []
    var i = text.utf8.startIndex
    let utf8 = text.utf8
    while i < utf8.endIndex {
      if utf8[i] == UInt8(ascii: "%") {
        let hi = utf8.index(after: i)
        guard hi < utf8.endIndex, utf8.index(after: hi) < utf8.endIndex,
              let value = UInt8(String(decoding: [utf8[hi], utf8[utf8.index(after: hi)]], as: UTF8.self), radix: 16) else {
          throw RedisError("a Redis URL's credentials hold a bad percent escape")
        }
        bytes.append(value)
        i = utf8.index(i, offsetBy: 3)
      } else {
        bytes.append(utf8[i])
        i = utf8.index(after: i)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
