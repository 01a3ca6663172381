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
      guard let digest = Self.hex(parts[1]), digest.count == 32 else {
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
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let key = "fk_" + Self.base64URL(bytes)
    let digest = SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
    return (key, "\(name):\(digest):\(scopes.map(\.rawValue).joined(separator: " "))")
  }

  static func hex(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    func value(_ c: UInt8) -> UInt8? {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
      default: nil
      }
    }
    for i in stride(from: 0, to: digits.count, by: 2) {
      guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
      out.append(high << 4 | low)
    }
    return out
  }

  static func base64URL(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var out: [UInt8] = []
    var i = 0
    while i + 2 < bytes.count {
      let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
      out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
      i += 3
    }
    if i + 1 == bytes.count {
      let n = UInt32(bytes[i]) << 16
      out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
    } else if i + 2 == bytes.count {
      let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
      out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// A security setting that cannot be used, naming it.
public struct AuthConfigurationError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
