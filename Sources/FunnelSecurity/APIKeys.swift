import Crypto
import Foundation

/// API keys for server-to-server callers, as the configuration holds them: never the key, only its
/// SHA-256, with a name and scopes (`auth.apiKeys`: `NAME:SHA256HEX:SCOPE SCOPE, ...`). A presented key
/// is hashed once and compared with every entry in constant time. Keys are made by `funnel auth
/// new-key`. Thread-safe (immutable).
public struct APIKeys: Sendable {
  /// One configured key.
  public struct Entry: Sendable, Equatable {
    public var name: String
    /// SHA-256 of the key's UTF-8 bytes.
    public var digest: [UInt8]
    public var scopes: Set<Scope>
  }

  public let entries: [Entry]

  /// Parses the configuration's list (empty: no keys). Throws naming the entry that is not
  /// `NAME:SHA256HEX:SCOPES` with known scopes.
  public init(configuration: String) throws(AuthConfigurationError) {
    var entries: [Entry] = []
    for (i, raw) in configuration.split(separator: ",").enumerated() {
      let text = raw.trimmingCharacters(in: .whitespaces)
      guard !text.isEmpty else { continue }
      let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
      guard parts.count == 3, !parts[0].isEmpty else {
        throw AuthConfigurationError("auth.apiKeys entry \(i + 1) must be NAME:SHA256HEX:SCOPES")
      }
      guard let digest = Hex.decode(parts[1]), digest.count == 32 else {
        throw AuthConfigurationError("auth.apiKeys entry '\(parts[0])': the hash must be 64 hex digits (SHA-256 of the key)")
      }
      var scopes: Set<Scope> = []
      for name in parts[2].split(whereSeparator: { $0 == " " || $0 == "+" }) {
        guard let scope = Scope(rawValue: String(name)) else {
          throw AuthConfigurationError("auth.apiKeys entry '\(parts[0])': unknown scope '\(name)' "
            + "(one of \(Scope.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        scopes.insert(scope)
      }
      guard !entries.contains(where: { $0.name == parts[0] }) else {
        throw AuthConfigurationError("auth.apiKeys: the name '\(parts[0])' is used twice")
      }
      entries.append(Entry(name: parts[0], digest: digest, scopes: scopes))
    }
    self.entries = entries
  }

  /// The entry whose key is `presented`, if any. O(entries); the comparison does not stop at the
  /// first differing byte.
  public func match(_ presented: String) -> Entry? {
    let digest = Array(SHA256.hash(data: Array(presented.utf8)))
    var found: Entry?
    for entry in entries {
      var difference: UInt8 = 0
      for (a, b) in zip(entry.digest, digest) { difference |= a ^ b }
      if difference == 0 { found = entry }
    }
    return found
  }

  /// A new random key (`fk_` and 43 characters of base64url: 256 bits) and its configuration entry.
  public static func makeKey(name: String, scopes: [Scope]) -> (key: String, entry: String) {
    let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
    let key = "fk_" + bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    return (key, "\(name):\(Hex.encode(SHA256.hash(data: Array(key.utf8)))):\(scopes.map(\.rawValue).joined(separator: " "))")
  }
}

/// A security setting that cannot be used, naming it.
public struct AuthConfigurationError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
