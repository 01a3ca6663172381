import Foundation
import NIOCore
import NIOSSL
import X509

/// Which client certificates mutual TLS admits when it names subjects: the chain the client presents
/// must lead to the configured CA under RFC 5280 (validity, basic constraints, name constraints;
/// swift-certificates' `Verifier`), the leaf must be usable for client authentication, and one of its
/// names must be allowed. A certificate's names are its whole subject (`CN=shop-backend,O=Shop`, as
/// RFC 4514 writes it), its common name, and its DNS and URI alternative names. This replaces
/// BoringSSL's own check (swift-nio-ssl's custom verification callback), so it does that check too.
/// Thread-safe.
public struct ClientCertificatePolicy: Sendable {
  /// The CA certificates clients' chains must end at.
  public let roots: [Certificate]
  /// Names admitted; a certificate must carry at least one.
  public let allowedSubjects: Set<String>

  /// Reads the CA file (PEM, one or more certificates); throws naming it when it cannot be used.
  public init(caFile: String, allowedSubjects: [String]) throws(AuthConfigurationError) {
    guard let bytes = FileManager.default.contents(atPath: caFile) else {
      throw AuthConfigurationError("tls.clientCA: cannot read \(caFile)")
    }
    do {
      roots = try NIOSSLCertificate.fromPEMBytes(Array(bytes)).map { try Certificate(derEncoded: try $0.toDERBytes()) }
    } catch {
      throw AuthConfigurationError("tls.clientCA \(caFile): not a PEM certificate (\(error))")
    }
    guard !roots.isEmpty else { throw AuthConfigurationError("tls.clientCA \(caFile): no certificate") }
    self.allowedSubjects = Set(allowedSubjects.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    guard !self.allowedSubjects.isEmpty else { throw AuthConfigurationError("tls.clientSubjects: no subject given") }
  }

  /// Parses `tls.clientSubjects`: names separated by `;` (a subject's RDNs are separated by commas).
  public static func subjects(_ text: String) -> [String] {
    text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  /// The admitted name of the chain `presented` (leaf first), or why it is refused, as of now. Never throws.
  public func check(_ presented: [NIOSSLCertificate]) async -> Result<String, Refusal> {
    guard let first = presented.first else { return .failure(Refusal("no client certificate")) }
    let leaf: Certificate, intermediates: [Certificate]
    do {
      leaf = try Certificate(derEncoded: try first.toDERBytes())
      intermediates = try presented.dropFirst().map { try Certificate(derEncoded: try $0.toDERBytes()) }
    } catch {
      return .failure(Refusal("an unreadable client certificate (\(error))"))
    }
    var verifier = Verifier(rootCertificates: CertificateStore(roots)) { RFC5280Policy() }
    guard case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) else {
      return .failure(Refusal("client certificate '\(leaf.subject)' does not lead to the client CA"))
    }
    if let usage = try? leaf.extensions.extendedKeyUsage, !usage.contains(.clientAuth), !usage.contains(.any) {
      return .failure(Refusal("client certificate '\(leaf.subject)' is not for client authentication"))
    }
    guard let name = Self.names(of: leaf).first(where: allowedSubjects.contains) else {
      return .failure(Refusal("client certificate '\(leaf.subject)' names no allowed subject"))
    }
    return .success(name)
  }

  /// swift-nio-ssl's callback for the listeners: the check runs off the event loop and completes the
  /// handshake's promise; `refused` hears why a certificate was turned away (for the log).
  public func verificationCallback(refused: @escaping @Sendable (String) -> Void)
    -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void
  {
    { certificates, promise in
      Task {
        switch await check(certificates) {
        case .success: promise.succeed(.certificateVerified)
        case .failure(let refusal):
          refused(refusal.reason)
          promise.succeed(.failed)
        }
      }
    }
  }

  /// The names an allow-list entry may match: the whole subject, its common names, DNS and URI SANs.
  static func names(of certificate: Certificate) -> [String] {
    var names = [certificate.subject.description]
    for rdn in certificate.subject {
      for attribute in rdn where attribute.type == .RDNAttributeType.commonName { names.append(attribute.value.description) }
    }
    for name in (try? certificate.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
      switch name {
      case .dnsName(let dns): names.append(dns)
      case .uniformResourceIdentifier(let uri): names.append(uri)
      default: break
      }
    }
    return names
  }

  /// Why a client certificate was refused.
  public struct Refusal: Error, Sendable, Equatable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
  }
}
