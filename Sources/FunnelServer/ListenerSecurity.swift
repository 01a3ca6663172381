import FunnelCore
import FunnelSecurity
import Logging

/// The listeners' security as configured: TLS (certificate and key, optional client CA) and the
/// authenticator (API keys, JWKS), checked together at start so that a server never comes up less
/// protected than asked: a half-given TLS pair, an unreadable file, or a listener on a non-loopback
/// address with no authentication (unless `server.insecure`) refuse to start, naming the setting.
struct ListenerSecurity: Sendable {
  let tls: ServerTLS?
  let authenticator: Authenticator

  static func make(_ options: ServerOptions, logger: Logger) async throws -> ListenerSecurity {
    do {
      let tls: ServerTLS?
      switch (options.tlsCertificate.isEmpty, options.tlsKey.isEmpty) {
      case (true, true): tls = nil
      case (false, false):
        tls = try ServerTLS(.init(certificateFile: options.tlsCertificate, keyFile: options.tlsKey,
                                  clientCAFile: options.tlsClientCA, allowTLS12: options.tlsAllow12,
                                  allowedClientSubjects: ClientCertificatePolicy.subjects(options.tlsClientSubjects)),
                            refused: { reason in logger.notice("client certificate refused", metadata: ["reason": "\(reason)"]) })
      default: throw AuthConfigurationError("tls.certificate and tls.key go together: give both or neither")
      }
      if tls == nil, !options.tlsClientCA.isEmpty { throw AuthConfigurationError("tls.clientCA needs tls.certificate and tls.key") }
      if tls == nil, !options.tlsClientSubjects.isEmpty {
        throw AuthConfigurationError("tls.clientSubjects needs tls.certificate, tls.key and tls.clientCA")
      }
      let jwt = options.jwksFile.isEmpty ? nil : try await JWTVerifier(.init(
        jwksFile: options.jwksFile, issuer: options.jwtIssuer, audience: options.jwtAudience,
        clockSkew: .seconds(options.jwtClockSkewSeconds)))
      let limits = CallerLimits(.init(rates: try CallerLimits.Settings.rates(options.callerRates),
                                      maxConcurrent: options.callerConcurrency, maxConnections: options.callerConnections))
      let authenticator = Authenticator(apiKeys: try APIKeys(configuration: options.apiKeys), jwt: jwt, limits: limits)
      if limits.settings.isEnabled, !authenticator.isEnabled {
        throw AuthConfigurationError("limits.callerRates, limits.callerConcurrency and limits.callerConnections apply to authenticated callers: "
          + "configure auth.apiKeys or auth.jwksFile")
      }
      if options.transport != .nioHTTP2, tls != nil || authenticator.isEnabled {
        throw AuthConfigurationError("TLS and authentication are served by the nio-http2 transport (server.transport)")
      }
      let exposed = [(options.host, "server.host"), (options.adminHost, "server.adminHost")]
        .filter { !isLoopback($0.0) }
      // Mutual TLS authenticates the peer (every certificate holder has every scope): enough to expose.
      if let (host, key) = exposed.first, !authenticator.isEnabled, tls?.settings.clientCAFile.isEmpty ?? true, !options.insecure {
        throw AuthConfigurationError("\(key) \(host) is not a loopback address and no authentication is configured "
          + "(auth.apiKeys, auth.jwksFile or tls.clientCA); refusing to serve it open (server.insecure / --insecure to do so anyway)")
      }
      return ListenerSecurity(tls: tls, authenticator: authenticator)
    } catch let error as AuthConfigurationError {
      throw FunnelError(.invalidArgument, error.description)
    }
  }

  /// Whether `host` can only be reached from this machine.
  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }
}
