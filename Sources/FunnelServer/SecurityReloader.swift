import FunnelSecurity
import Logging
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// Reads the TLS certificate and key and the JWKS file again every `interval` and on SIGHUP, so a
/// rotated certificate or signing key is used without a restart (new handshakes get the new
/// certificate; open connections keep theirs). A file that cannot be used is logged and the old
/// one kept. A lifecycle `Service`; stops on graceful shutdown.
struct SecurityReloader: Service {
  let tls: ServerTLS?
  let jwt: JWTVerifier?
  let interval: Duration
  let logger: Logger

  func run() async throws {
    let signals = await UnixSignalsSequence(trapping: .sighup)
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        for await _ in signals.cancelOnGracefulShutdown() { await reload(reason: "SIGHUP") }
      }
      group.addTask {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
          try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
          if Task.isShuttingDownGracefully || Task.isCancelled { break }
          await reload(reason: "timer")
        }
      }
    }
  }

  func reload(reason: String) async {
    if let tls {
      do {
        // File reads and a new context's checks: on NIO's blocking pool, not a cooperative thread.
        if try await NIOThreadPool.singleton.runIfActive({ try tls.reload() }) { logger.notice("tls certificate reloaded", metadata: ["reason": "\(reason)", "served": "\(tls.servedCertificate)"]) }
      } catch {
        logger.error("tls certificate not reloaded; the previous one is served", metadata: ["error": "\(error)"])
      }
    }
    if let jwt {
      do {
        if try await jwt.reload() { logger.notice("jwks reloaded", metadata: ["reason": "\(reason)", "file": "\(jwt.settings.jwksFile)"]) }
      } catch {
        logger.error("jwks not reloaded; the previous keys verify tokens", metadata: ["error": "\(error)"])
      }
    }
  }
}
