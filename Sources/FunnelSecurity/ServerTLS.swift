import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The listeners' TLS (swift-nio-ssl): the certificate chain and key from PEM files, TLS 1.3 only
/// unless 1.2 is allowed, ALPN `h2` for gRPC and `http/1.1` for HTTP, and with a client CA, mutual
/// TLS (a client must present a certificate that CA signed; with allowed subjects, one naming one of
/// them: `ClientCertificatePolicy`). `reload()` reads the files again and,
/// when they changed and make a usable pair, serves the new certificate to every later handshake
/// through swift-nio-ssl's per-handshake context callback; connections already open keep theirs,
/// so nothing is dropped. The client CA and the versions are read once, at start. Thread-safe.
public final class ServerTLS: Sendable {
  /// Where the certificate and key are, and what clients must do.
  public struct Settings: Sendable, Equatable {
    /// PEM: the server's certificate, then its intermediates.
    public var certificateFile: String
    /// PEM: the private key of the certificate.
    public var keyFile: String
    /// PEM: the CA that signs client certificates; empty: no client certificates asked.
    public var clientCAFile: String
    /// Whether TLS 1.2 clients are served (otherwise 1.3 only).
    public var allowTLS12: Bool
    /// With a client CA: the client certificate names admitted (empty: any the CA signed).
    public var allowedClientSubjects: [String]

    public init(certificateFile: String, keyFile: String, clientCAFile: String = "", allowTLS12: Bool = false,
                allowedClientSubjects: [String] = []) {
      self.certificateFile = certificateFile
      self.keyFile = keyFile
      self.clientCAFile = clientCAFile
      self.allowTLS12 = allowTLS12
      self.allowedClientSubjects = allowedClientSubjects
    }
  }

  public let settings: Settings
  /// The gRPC listener's context (ALPN `h2`).
  public let grpcContext: NIOSSLContext
  /// The HTTP listener's configuration (ALPN `http/1.1`), for Hummingbird's TLS channel.
  public let httpConfiguration: TLSConfiguration
  /// With allowed client subjects: the check that replaces BoringSSL's (for both listeners).
  public let clientVerification: (@Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void)?
  private let current: CertificateSlot

  /// Loads the certificate and key (and the client policy); throws naming the file or setting that
  /// cannot be used. `refused` hears why a client certificate was turned away.
  public init(_ settings: Settings, refused: @escaping @Sendable (String) -> Void = { _ in }) throws {
    self.settings = settings
    if settings.allowedClientSubjects.isEmpty {
      clientVerification = nil
    } else {
      guard !settings.clientCAFile.isEmpty else { throw AuthConfigurationError("tls.clientSubjects needs tls.clientCA") }
      clientVerification = try ClientCertificatePolicy(caFile: settings.clientCAFile,
                                                       allowedSubjects: settings.allowedClientSubjects)
        .verificationCallback(refused: refused)
    }
    let pair = try Self.load(settings)
    current = CertificateSlot(pair)
    grpcContext = try NIOSSLContext(configuration: Self.configuration(settings, pair, alpn: ["h2"], slot: current))
    httpConfiguration = Self.configuration(settings, pair, alpn: ["http/1.1"], slot: current)
  }

  /// Reads the files again; true when they changed and the new pair was taken. A pair that cannot
  /// be used (unreadable, not PEM, a key that does not match the certificate) throws and leaves the
  /// served certificate as it was.
  @discardableResult
  public func reload() throws -> Bool {
    let pair = try Self.load(settings)
    guard pair.source != current.pair.source else { return false }
    current.replace(with: pair)
    return true
  }

  /// The served certificate's serial number (hex), for logs.
  public var servedCertificate: String {
    let pair = current.pair
    return pair.chain.first.map { "serial \($0.serialNumber.map { String($0, radix: 16) }.joined())" } ?? "none"
  }

  /// A handler for one accepted gRPC connection.
  public func makeGRPCHandler() -> NIOSSLServerHandler {
    guard let clientVerification else { return NIOSSLServerHandler(context: grpcContext) }
    return NIOSSLServerHandler(context: grpcContext, customVerificationCallback: clientVerification)
  }

  private static func configuration(_ settings: Settings, _ pair: CertificatePair, alpn: [String], slot: CertificateSlot)
    -> TLSConfiguration
  {
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain.map { .certificate($0) },
                                                                 privateKey: .privateKey(pair.key))
    configuration.minimumTLSVersion = settings.allowTLS12 ? .tlsv12 : .tlsv13
    configuration.applicationProtocols = alpn
    if !settings.clientCAFile.isEmpty {
      configuration.certificateVerification = .noHostnameVerification
      configuration.trustRoots = .file(settings.clientCAFile)
    }
    // Per handshake: the certificate last loaded (nothing to change until the first reload).
    configuration.sslContextCallback = { _, promise in
      let (pair, generation) = slot.current
      guard generation > 0 else { return promise.succeed(.noChanges) }
      var override = NIOSSLContextConfigurationOverride()
      override.certificateChain = pair.chain.map { .certificate($0) }
      override.privateKey = .privateKey(pair.key)
      promise.succeed(override)
    }
    return configuration
  }

  private static func load(_ settings: Settings) throws -> CertificatePair {
    guard let chainBytes = FileManager.default.contents(atPath: settings.certificateFile) else {
      throw AuthConfigurationError("tls.certificate: cannot read \(settings.certificateFile)")
    }
    guard let keyBytes = FileManager.default.contents(atPath: settings.keyFile) else {
      throw AuthConfigurationError("tls.key: cannot read \(settings.keyFile)")
    }
    let chain: [NIOSSLCertificate], key: NIOSSLPrivateKey
    do { chain = try NIOSSLCertificate.fromPEMBytes(Array(chainBytes)) } catch {
      throw AuthConfigurationError("tls.certificate \(settings.certificateFile): not a PEM certificate chain (\(error))")
    }
    guard !chain.isEmpty else { throw AuthConfigurationError("tls.certificate \(settings.certificateFile): no certificate") }
    do { key = try NIOSSLPrivateKey(bytes: Array(keyBytes), format: .pem) } catch {
      throw AuthConfigurationError("tls.key \(settings.keyFile): not a PEM private key (\(error))")
    }
    // A context made from the pair checks that the key belongs to the certificate.
    do {
      _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                    privateKey: .privateKey(key)))
    } catch {
      throw AuthConfigurationError("tls: the key in \(settings.keyFile) does not fit the certificate in \(settings.certificateFile) (\(error))")
    }
    return CertificatePair(chain: chain, key: key, source: Array(chainBytes) + Array(keyBytes))
  }
}

/// A certificate chain and its key, with the file bytes they came from (to tell a change).
struct CertificatePair: Sendable {
  var chain: [NIOSSLCertificate]
  var key: NIOSSLPrivateKey
  var source: [UInt8]
}

/// The pair handshakes use now, and how many times it was replaced. Thread-safe.
final class CertificateSlot: Sendable {
  private let state: Mutex<(pair: CertificatePair, generation: Int)>
  init(_ pair: CertificatePair) { state = Mutex((pair, 0)) }
  var pair: CertificatePair { state.withLock { $0.pair } }
  var current: (CertificatePair, Int) { state.withLock { ($0.pair, $0.generation) } }
  func replace(with pair: CertificatePair) { state.withLock { $0 = (pair, $0.generation + 1) } }
}
