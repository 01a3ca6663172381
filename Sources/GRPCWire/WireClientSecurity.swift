import NIOCore
import NIOSSL

/// What the lean client (`WireClientConnection`) does beyond plaintext: TLS 1.2+ with ALPN `h2` (the
/// server's certificate and host name verified against `caFile` or the system's trust store), a
/// client certificate for mutual TLS, and metadata sent with every call (`authorization`, say).
public struct WireClientSecurity: Sendable {
  /// The TLS context; nil: plaintext (h2c with prior knowledge).
  let tls: NIOSSLContext?
  /// Custom metadata added to every call's headers.
  let metadata: [(name: String, value: String)]

  /// Plaintext, no metadata.
  public static let plaintext = WireClientSecurity()

  private init() {
    tls = nil
    metadata = []
  }

  /// Reads the PEM files (throws naming the one that cannot be used). `metadata` names must be
  /// lowercase, as HTTP/2 requires.
  public init(tls: Bool, caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
              metadata: [(name: String, value: String)] = []) throws {
    self.metadata = metadata
    guard tls || caFile != nil || certificateFile != nil else {
      self.tls = nil
      return
    }
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.applicationProtocols = ["h2"]
    if let caFile { configuration.trustRoots = .file(caFile) }
    if let certificateFile, let keyFile {
      configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
      configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
    }
    self.tls = try NIOSSLContext(configuration: configuration)
  }

  /// The handler that starts TLS for `host` (its name verified; SNI unless an IP literal), or nil.
  func handler(host: String) throws -> NIOSSLClientHandler? {
    guard let tls else { return nil }
    let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
    return try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host)
  }
}
