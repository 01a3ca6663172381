import Foundation
import JWTKit
import NIOPosix
import Synchronization

/// Verifies bearer JWTs (jwt-kit) against the keys of a JWKS file: the signature with the key its
/// `kid` names (RS256, ES256 or EdDSA only: `none`, HMAC and others are refused before any key is
/// looked up), then `exp` (required) and `nbf` with `clockSkew` either way, `iss` and `aud` when
/// configured. The file is read again by `reload()` (the security reloader calls it on a timer and
/// on SIGHUP), so keys rotate without a restart. A verified token is remembered until it expires, so
/// a client's repeated token costs a lookup, not a signature check. Thread-safe.
public final class JWTVerifier: Sendable {
  /// Where the keys come from and what a token must say.
  public struct Settings: Sendable, Equatable {
    /// A JSON Web Key Set file (`{"keys": [...]}`; each key with a `kid`).
    public var jwksFile: String
    /// The required `iss`; empty: any.
    public var issuer: String
    /// A value the token's `aud` must include; empty: any.
    public var audience: String
    /// Allowance for clocks that disagree, on `exp` and `nbf`.
    public var clockSkew: Duration

    public init(jwksFile: String, issuer: String = "", audience: String = "", clockSkew: Duration = .seconds(60)) {
      self.jwksFile = jwksFile
      self.issuer = issuer
      self.audience = audience
      self.clockSkew = clockSkew
    }
  }

  /// The algorithms a token may be signed with.
  public static let algorithms: Set<String> = ["RS256", "ES256", "EdDSA"]

  public let settings: Settings
  private let keys: Mutex<(collection: JWTKeyCollection, source: [UInt8])>
  /// Tokens already verified, with their caller and until when they hold (their `exp` plus the skew):
  /// a client sends the same token with every call, and a signature check costs far more than the
  /// lookup. At most `cacheLimit` entries (emptied when full); emptied when the keys change.
  private let verified = Mutex<[String: (caller: Caller, until: Date)]>([:])
  static let cacheLimit = 10_000

  /// Loads the key set; throws naming the file when it cannot be read or holds no usable key.
  public init(_ settings: Settings) async throws {
    self.settings = settings
    let source = try Self.read(settings.jwksFile)
    keys = Mutex((try await Self.collection(source, file: settings.jwksFile), source))
  }

  /// Reads the key set again; true when it changed (and was taken). A file that cannot be read or
  /// parsed throws and leaves the keys in use.
  @discardableResult
  public func reload() async throws -> Bool {
    // The file is read on NIO's blocking pool, not a cooperative thread.
    let file = settings.jwksFile
    let source = try await NIOThreadPool.singleton.runIfActive { try Self.read(file) }
    guard source != keys.withLock({ $0.source }) else { return false }
    let collection = try await Self.collection(source, file: settings.jwksFile)
    keys.withLock { $0 = (collection, source) }
    verified.withLock { $0 = [:] }
    return true
  }

  /// The caller `token` proves, or why not. `now` is the clock (tests pass their own).
  public func verify(_ token: String, now: Date = Date()) async -> Result<Caller, AuthFailure> {
    if let (caller, until) = verified.withLock({ $0[token] }), now < until { return .success(caller) }
    return await verifyUncached(token, now: now)
  }

  private func verifyUncached(_ token: String, now: Date) async -> Result<Caller, AuthFailure> {
    guard let algorithm = Self.algorithm(of: token) else {
      return .failure(.unauthenticated("bearer token is not a JWT"))
    }
    guard Self.algorithms.contains(algorithm) else {
      return .failure(.unauthenticated("bearer token is signed with \(algorithm); accepted: RS256, ES256, EdDSA"))
    }
    let claims: TokenClaims
    do {
      claims = try await keys.withLock { $0.collection }.verify(token, as: TokenClaims.self)
    } catch {
      return .failure(.unauthenticated("bearer token: \(Self.describe(error))"))
    }
    let skew = TimeInterval(settings.clockSkew.components.seconds)
    guard let exp = claims.exp else { return .failure(.unauthenticated("bearer token has no exp")) }
    guard exp.value.addingTimeInterval(skew) > now else { return .failure(.unauthenticated("bearer token expired")) }
    if let nbf = claims.nbf, nbf.value.addingTimeInterval(-skew) > now {
      return .failure(.unauthenticated("bearer token is not valid yet (nbf)"))
    }
    if !settings.issuer.isEmpty, claims.iss?.value != settings.issuer {
      return .failure(.unauthenticated("bearer token's issuer is not \(settings.issuer)"))
    }
    if !settings.audience.isEmpty, !(claims.aud?.value.contains(settings.audience) ?? false) {
      return .failure(.unauthenticated("bearer token's audience does not include \(settings.audience)"))
    }
    let granted = (claims.scope?.split(separator: " ").map(String.init) ?? []) + (claims.scp ?? [])
    let name = claims.sub?.value ?? claims.iss?.value ?? "jwt"
    let caller = Caller(name: name, kind: .jwt, scopes: Set(granted.compactMap(Scope.init(rawValue:))))
    // Valid until exp (with the skew); a token not valid before a later nbf was refused above.
    verified.withLock { cache in
      if cache.count >= Self.cacheLimit { cache = [:] }
      cache[token] = (caller, exp.value.addingTimeInterval(skew))
    }
    return .success(caller)
  }

  /// The `alg` of a compact JWT's header, or nil when `token` is not three base64url parts.
  static func algorithm(of token: String) -> String? {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, let header = Self.base64URLDecode(parts[0]),
          let object = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any] else { return nil }
    return object["alg"] as? String
  }

  static func base64URLDecode(_ text: Substring) -> [UInt8]? {
    guard text.utf8.count <= 8_192 else { return nil }
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.utf8.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s).map(Array.init)
  }

  private static func describe(_ error: any Error) -> String {
    guard let error = error as? JWTError else { return "cannot be verified" }
    switch error.errorType {
    case .signatureVerificationFailed: return "signature does not verify"
    case .unknownKID: return "key id is not in the key set"
    case .missingKIDHeader: return "has no kid"
    case .malformedToken: return "is malformed"
    default: return "cannot be verified (\(error.errorType))"
    }
  }

  private static func read(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw AuthConfigurationError("auth.jwksFile: cannot read \(path)")
    }
    return Array(data)
  }

  private static func collection(_ source: [UInt8], file: String) async throws -> JWTKeyCollection {
    let collection = JWTKeyCollection()
    do {
      try await collection.add(jwksJSON: String(decoding: source, as: UTF8.self))
    } catch {
      throw AuthConfigurationError("auth.jwksFile \(file): not a usable JSON Web Key Set: \(error)")
    }
    return collection
  }
}

/// The claims Funnel reads; verification of time, issuer and audience is `JWTVerifier`'s (with the
/// configured skew), not jwt-kit's.
struct TokenClaims: JWTPayload {
  var sub: SubjectClaim?
  var iss: IssuerClaim?
  var aud: AudienceClaim?
  var exp: ExpirationClaim?
  var nbf: NotBeforeClaim?
  var scope: String?
  var scp: [String]?

  func verify(using algorithm: some JWTAlgorithm) async throws {}
}
