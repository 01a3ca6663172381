import FunnelCore
import Foundation

/// Where published generations are shared: a directory every replica can read (a mounted volume),
/// or an HTTP(S) base URL serving that directory (any static web server: nginx, an object store's
/// website endpoint). Generation `V` lives at `LOCATION/V/`, its manifest at `LOCATION/V/manifest.json`.
/// Pure value; thread-safe.
public enum GenerationLocation: Hashable, Sendable, CustomStringConvertible {
  case directory(String)
  case http(URL)

  /// Parses `text`: `http://…` or `https://…` (a base URL), `file:///path` or an absolute path.
  /// Throws `invalidArgument` naming the text.
  public init(_ text: String) throws {
    if text.hasPrefix("http://") || text.hasPrefix("https://") {
      guard let url = URL(string: text.hasSuffix("/") ? text : text + "/"), url.host != nil else {
        throw FunnelError(.invalidArgument, "'\(text)': not a URL")
      }
      self = .http(url)
    } else if text.hasPrefix("file://") {
      self = .directory(String(text.dropFirst("file://".count)))
    } else if text.hasPrefix("/") {
      self = .directory(text)
    } else {
      throw FunnelError(.invalidArgument, "'\(text)': a generation source is an absolute path, file://, http:// or https:// URL")
    }
  }

  public var description: String {
    switch self {
    case .directory(let path): path
    case .http(let url): url.absoluteString
    }
  }

  /// Whether `name` may name a generation or one of its files: 1–128 of `A-Z a-z 0-9 . _ -`, not
  /// starting with a dot (names come from Redis and manifests: never a path).
  public static func isSafeName(_ name: String) -> Bool {
    guard (1...128).contains(name.utf8.count), name.utf8.first != UInt8(ascii: ".") else { return false }
    return name.utf8.allSatisfy { b in
      (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == 46 || b == 95 || b == 45
    }
  }
}
