import ArgumentParser
import Foundation
import FunnelGRPC

/// How a command's client reaches a server protected by TLS and authentication (`funnel query`,
/// `experiments report`, `load`, `batch`).
struct ClientSecurityOptions: ParsableArguments {
  @Flag(help: "Speak TLS (the server's certificate and host name verified against the system's CAs or --ca).") var tls = false
  @Option(help: "PEM CA that signed the server's certificate (implies --tls).") var ca: String?
  @Option(help: "PEM client certificate, for servers that require one (mutual TLS; with --key).") var cert: String?
  @Option(help: "PEM private key of --cert.") var key: String?
  @Option(help: "API key or JWT sent as 'authorization: Bearer' (default: $FUNNEL_CREDENTIAL).") var credential: String?

  func validate() throws {
    if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
  }

  /// The settings, the credential from the environment when not given.
  var value: ClientSecurity {
    ClientSecurity(tls: tls, caFile: ca, certificateFile: cert, keyFile: key,
                   credential: credential ?? ProcessInfo.processInfo.environment["FUNNEL_CREDENTIAL"].flatMap { $0.isEmpty ? nil : $0 })
  }
}

/// `HOST:PORT` (a name or an address; `[v6]:port` for IPv6) as host and port, or a usage error naming `flag`.
func parseTarget(_ target: String, flag: String = "--target") throws -> (host: String, port: Int) {
  guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]), (1...65_535).contains(port) else {
    throw ValidationError("\(flag) '\(target)' must be HOST:PORT")
  }
  var host = String(target[..<colon])
  if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
  guard !host.isEmpty else { throw ValidationError("\(flag) '\(target)' must be HOST:PORT") }
  return (host, port)
}

/// `HOST:PORT[,HOST:PORT...]` as targets (at least one), or a usage error naming `flag`.
func parseTargets(_ list: String, flag: String = "--target") throws -> [(host: String, port: Int)] {
  let targets = try list.split(separator: ",").map { try parseTarget(String($0), flag: flag) }
  guard !targets.isEmpty else { throw ValidationError("\(flag): at least one HOST:PORT") }
  return targets
}
