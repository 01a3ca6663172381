import GRPCCore
import GRPCWire
import GRPCNIOTransportHTTP2Posix

/// How Funnel's own clients (`funnel query`, `load`, `batch`, `experiments`) reach a server: TLS with
/// the system's or a given CA, a client certificate for mutual TLS, and a credential (API key or JWT)
/// sent as `authorization: Bearer …` on every call. Thread-safe (a value).
public struct ClientSecurity: Sendable {
  /// Speak TLS (the server's certificate verified, host name included).
  public var tls = false
  /// PEM CA that signed the server's certificate; nil: the system's trust store.
  public var caFile: String?
  /// PEM client certificate chain and key, for servers that ask for one.
  public var certificateFile: String?, keyFile: String?
  /// An API key or JWT; nil: none sent.
  public var credential: String?

  public init(tls: Bool = false, caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
              credential: String? = nil) {
    self.tls = tls || caFile != nil || certificateFile != nil
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.keyFile = keyFile
    self.credential = credential
  }

  /// The transport security of grpc-swift's HTTP/2 client.
  public var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    guard tls else { return .plaintext }
    return .tls { config in
      if let caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
      if let certificateFile, let keyFile {
        config.certificateChain = [.file(path: certificateFile, format: .pem)]
        config.privateKey = .file(path: keyFile, format: .pem)
      }
    }
  }

  /// Interceptors that add the credential to every call (none without one).
  /// The same for the lean client (`WireClientConnection`); reads the PEM files, throwing naming the
  /// one that cannot be used.
  public func wire() throws -> WireClientSecurity {
    try WireClientSecurity(tls: tls, caFile: caFile, certificateFile: certificateFile, keyFile: keyFile,
                           metadata: credential.map { [("authorization", "Bearer \($0)")] } ?? [])
  }

  public var interceptors: [any ClientInterceptor] {
    credential.map { [BearerCredential(value: "Bearer \($0)")] } ?? []
  }
}

/// Adds `authorization` to a call's metadata.
struct BearerCredential: ClientInterceptor {
  let value: String

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>, context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString(value, forKey: "authorization")
    return try await next(request, context)
  }
}
