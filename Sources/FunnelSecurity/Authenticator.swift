import Foundation

/// Who a caller is and whether it may make a call: API keys and bearer JWTs checked against the
/// `AccessPolicy` requirement of the call. With neither configured every call is allowed (the
/// embedded default on loopback); a server bound elsewhere refuses to start that way unless told
/// `--insecure`. Credentials come as `authorization: Bearer <key or JWT>` (a JWT has three dot-separated
/// parts) or `x-api-key: <key>`. Thread-safe.
public final class Authenticator: Sendable {
  public let apiKeys: APIKeys
  public let jwt: JWTVerifier?
  /// Per-caller rate and concurrency limits, applied to authenticated callers.
  public let limits: CallerLimits?

  public init(apiKeys: APIKeys, jwt: JWTVerifier?, limits: CallerLimits? = nil) {
    self.apiKeys = apiKeys
    self.jwt = jwt
    self.limits = limits.flatMap { $0.settings.isEnabled ? $0 : nil }
  }

  /// Authorises a call and takes its caller's limits (`connection`: the one it came on, for the
  /// connection cap): the returned function ends the call (gives its
  /// slot back; call it once, when the call ends). Throws `AuthFailure` or `CallerLimits.Refusal`.
  public func admit(_ requirement: AccessPolicy.Requirement, authorization: String?, apiKey: String?,
                    connection: CallerConnection? = nil) async throws -> (@Sendable () -> Void)?
  {
    let caller: Caller?
    switch await authorize(requirement, authorization: authorization, apiKey: apiKey) {
    case .success(let c): caller = c
    case .failure(let failure): throw failure
    }
    guard let limits, let caller else { return nil }
    let scope: Scope? = if case .scope(let s) = requirement { s } else { nil }
    do { return try limits.admit(caller.name, scope: scope, connection: connection) } catch { throw error }
  }

  /// Whether any credential is configured (otherwise every call is allowed).
  public var isEnabled: Bool { !apiKeys.entries.isEmpty || jwt != nil }

  /// Checks a call needing `requirement` that presented `authorization` and `apiKey` headers. nil
  /// caller: allowed without credentials (open, or authentication off).
  public func authorize(_ requirement: AccessPolicy.Requirement, authorization: String?, apiKey: String?) async
    -> Result<Caller?, AuthFailure>
  {
    guard isEnabled, requirement != .open else { return .success(nil) }
    let caller: Caller
    switch await authenticate(authorization: authorization, apiKey: apiKey) {
    case .success(let c): caller = c
    case .failure(let failure): return .failure(failure)
    }
    if case .scope(let scope) = requirement, !scope.isGranted(by: caller.scopes) {
      return .failure(.permissionDenied("\(caller.kind == .jwt ? "token" : "API key") '\(caller.name)' lacks the scope \(scope.rawValue)"))
    }
    return .success(caller)
  }

  /// The caller `authorization` / `apiKey` prove, or nil (none, or not valid), for audit records.
  public func identify(authorization: String?, apiKey: String?) async -> Caller? {
    guard isEnabled else { return nil }
    return try? await authenticate(authorization: authorization, apiKey: apiKey).get()
  }

  private func authenticate(authorization: String?, apiKey: String?) async -> Result<Caller, AuthFailure> {
    var presented = apiKey
    if let authorization {
      let parts = authorization.split(separator: " ", maxSplits: 1)
      guard parts.count == 2, parts[0].lowercased() == "bearer" else {
        return .failure(.unauthenticated("authorization must be 'Bearer <API key or JWT>'"))
      }
      presented = String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
    guard let presented, !presented.isEmpty else {
      return .failure(.unauthenticated("credentials required: authorization: Bearer <API key or JWT>, or x-api-key"))
    }
    if presented.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
      guard let jwt else { return .failure(.unauthenticated("bearer tokens are not accepted here (no auth.jwksFile)")) }
      return await jwt.verify(presented)
    }
    guard let entry = apiKeys.match(presented) else { return .failure(.unauthenticated("unknown API key")) }
    return .success(Caller(name: entry.name, kind: .apiKey, scopes: entry.scopes))
  }
}
