/// An authenticated caller: who (an API key's name, a JWT's subject), how, and what it may do.
public struct Caller: Sendable, Equatable {
  /// How the caller proved who it is.
  public enum Kind: String, Sendable { case apiKey = "api_key", jwt }
  /// The API key's configured name, or the token's `sub` (`iss` when it has none).
  public var name: String
  public var kind: Kind
  public var scopes: Set<Scope>

  public init(name: String, kind: Kind, scopes: Set<Scope>) {
    self.name = name
    self.kind = kind
    self.scopes = scopes
  }
}

/// Why a call was refused: no or bad credentials (gRPC UNAUTHENTICATED, HTTP 401), or credentials
/// without the scope (PERMISSION_DENIED, 403). The message says what was wrong without echoing the
/// credential.
public enum AuthFailure: Error, Sendable, Equatable {
  case unauthenticated(String)
  case permissionDenied(String)

  public var message: String {
    switch self {
    case .unauthenticated(let m), .permissionDenied(let m): m
    }
  }
}
