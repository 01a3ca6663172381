import Crypto
import Foundation
import FunnelSecurity
import JWTKit
import Testing

/// API keys, the access policy and JWT verification: what is allowed, what is refused and why.
@Suite struct AuthenticatorTests {
  static let recommendKey = "fk_recommend-key-of-the-shop", opsKey = "fk_ops-key"

  static func entry(_ name: String, _ key: String, _ scopes: String) -> String {
    "\(name):\(Hex.encode(SHA256.hash(data: Array(key.utf8)))):\(scopes)"
  }

  @Test func apiKeysAreMatchedByHashAndNameTheBadEntry() throws {
    let keys = try APIKeys(configuration: Self.entry("shop", Self.recommendKey, "recommend") + ", "
                           + Self.entry("ops", Self.opsKey, "admin+metrics"))
    #expect(keys.match(Self.recommendKey)?.name == "shop" && keys.match(Self.opsKey)?.scopes == [.admin, .metrics])
    #expect(keys.match("fk_guess") == nil && keys.match("") == nil)
    for (bad, says) in [("shop", "entry 1"), ("shop:abc:recommend", "64 hex"), (Self.entry("x", "k", "recommend fly"), "unknown scope 'fly'"),
                        (Self.entry("x", "k", "admin") + "," + Self.entry("x", "j", "admin"), "used twice")] {
      #expect(throws: AuthConfigurationError.self) { try APIKeys(configuration: bad) }
      do { _ = try APIKeys(configuration: bad) } catch { #expect(error.description.contains(says), "\(error)") }
    }
    let (key, made) = APIKeys.makeKey(name: "batch", scopes: [.recommend])
    #expect(key.hasPrefix("fk_") && key.count == 46 && made.hasPrefix("batch:") && made.hasSuffix(":recommend"))
    #expect(try APIKeys(configuration: made).match(key)?.name == "batch")
  }

  @Test func thePolicyNamesAScopeForEveryRPCAndRoute() {
    #expect(AccessPolicy.grpc("/funnel.v1.Recommender/BatchRecommend") == .scope(.recommend))
    #expect(AccessPolicy.grpc("/funnel.v1.EventCollector/Track") == .scope(.eventsWrite))
    #expect(AccessPolicy.grpc("/funnel.v1.Admin/ForgetUser") == .scope(.admin))
    #expect(AccessPolicy.grpc("/grpc.health.v1.Health/Watch") == .open)
    #expect(AccessPolicy.grpc("/x.Y/Z") == .authenticated)
    #expect(AccessPolicy.http(method: "GET", route: "/v1/items/{item_id}") == .scope(.recommend))
    #expect(AccessPolicy.http(method: "POST", route: "/v1/events") == .scope(.eventsWrite))
    #expect(AccessPolicy.http(method: "OPTIONS", route: "/v1/events") == .open, "CORS preflights carry no credentials")
    #expect(AccessPolicy.http(method: "GET", route: "/metrics") == .scope(.metrics))
    #expect(AccessPolicy.http(method: "GET", route: "/healthz") == .open && AccessPolicy.http(method: "GET", route: nil) == .open)
  }

  /// ES256 tokens signed here, verified against a JWKS file: scopes granted, each bad claim refused
  /// with its reason, the clock skew allowed, other algorithms refused, a rotated key set reloaded.
  @Test func jwtsAreVerifiedAgainstTheKeySetWithSkew() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-jwt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("jwks.json").path
    func publish(_ keys: [(String, ES256PrivateKey)]) throws {
      let entries = keys.map { kid, key in
        let p = key.publicKey.parameters!
        return #"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"\#(kid)","x":"\#(p.x)","y":"\#(p.y)"}"#
      }
      try Data(#"{"keys":[\#(entries.joined(separator: ","))]}"#.utf8).write(to: URL(fileURLWithPath: file))
    }
    let first = ES256PrivateKey(), second = ES256PrivateKey()
    try publish([("k1", first)])
    let verifier = try await JWTVerifier(.init(jwksFile: file, issuer: "https://issuer.example", audience: "funnel", clockSkew: .seconds(60)))
    let authenticator = Authenticator(apiKeys: try APIKeys(configuration: ""), jwt: verifier)
    let now = Date()
    func token(_ key: ES256PrivateKey, kid: String = "k1", scope: String = "recommend events:write", iss: String = "https://issuer.example",
               aud: String = "funnel", exp: TimeInterval = 600, nbf: TimeInterval? = nil) async throws -> String {
      let signer = JWTKeyCollection()
      await signer.add(ecdsa: key, kid: JWKIdentifier(string: kid))
      return try await signer.sign(TestClaims(sub: .init(value: "shop"), iss: .init(value: iss), aud: .init(value: [aud]),
                                              exp: .init(value: now.addingTimeInterval(exp)),
                                              nbf: nbf.map { .init(value: now.addingTimeInterval($0)) }, scope: scope),
                                   kid: JWKIdentifier(string: kid))
    }
    func outcome(_ token: String, needs scope: Scope = .recommend) async -> String {
      switch await authenticator.authorize(.scope(scope), authorization: "Bearer \(token)", apiKey: nil) {
      case .success(let caller): "ok \(caller?.name ?? "-")"
      case .failure(.unauthenticated(let m)): "unauthenticated: \(m)"
      case .failure(.permissionDenied(let m)): "denied: \(m)"
      }
    }
    #expect(await outcome(try await token(first)) == "ok shop")
    #expect(await outcome(try await token(first), needs: .admin).hasPrefix("denied: token 'shop' lacks the scope admin"))
    #expect(await outcome(try await token(first, exp: -30)) == "ok shop", "30 s past exp is within the 60 s skew")
    #expect(await outcome(try await token(first, exp: -120)).contains("expired"))
    #expect(await outcome(try await token(first, nbf: 120)).contains("not valid yet"))
    #expect(await outcome(try await token(first, iss: "https://evil.example")).contains("issuer"))
    #expect(await outcome(try await token(first, aud: "other")).contains("audience"))
    #expect(await outcome(try await token(second)).contains("signature does not verify"), "signed by a key the set does not hold")
    // A kid the set does not hold: jwt-kit tries the set's default key, which does not verify it.
    let unknownKid = await outcome(try await token(second, kid: "k2"))
    #expect(unknownKid.hasPrefix("unauthenticated") && unknownKid.contains("signature"), "\(unknownKid)")
    let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
    #expect(await outcome(none).contains("signed with none"))
    switch await authenticator.authorize(.scope(.recommend), authorization: nil, apiKey: nil) {
    case .failure(.unauthenticated(let m)): #expect(m.contains("credentials required"))
    default: Issue.record("no credentials must be unauthenticated")
    }
    // A verified token is remembered, but only until its exp (plus the skew).
    let reused = try await token(first)
    #expect(try await verifier.verify(reused).get().name == "shop")
    #expect(try await verifier.verify(reused).get().name == "shop")
    switch await verifier.verify(reused, now: now.addingTimeInterval(700)) {
    case .failure(.unauthenticated(let m)): #expect(m.contains("expired"))
    default: Issue.record("a remembered token must still expire")
    }
    // Rotation: the second key joins the set; its tokens verify after a reload.
    try publish([("k1", first), ("k2", second)])
    #expect(try await verifier.reload())
    #expect(try await verifier.reload() == false, "unchanged file: nothing to do")
    #expect(await outcome(try await token(second, kid: "k2")) == "ok shop")
  }
}

struct TestClaims: JWTPayload {
  var sub: SubjectClaim
  var iss: IssuerClaim
  var aud: AudienceClaim
  var exp: ExpirationClaim
  var nbf: NotBeforeClaim?
  var scope: String
  func verify(using algorithm: some JWTAlgorithm) async throws {}
}
