import Foundation
import GRPCCore

/// One Admin call as the audit log keeps it: when, who, what with which arguments (never secrets;
/// a user id only as a hash), and how it ended.
public struct AdminAuditRecord: Sendable, Equatable {
  /// When the call arrived, Unix milliseconds.
  public var timeMs: Int64
  /// The caller's name (API key name, JWT subject), `anonymous` without credentials.
  public var caller: String
  /// How the caller authenticated: `api_key`, `jwt` or `none`.
  public var credential: String
  /// `funnel.v1.Admin/ForgetUser` and so on.
  public var rpc: String
  public var arguments: [String: String]
  /// `OK` or the status code's name.
  public var result: String
  public var durationMs: Double
}

/// Where Admin calls are recorded, and who made them. `identify` names the caller from the call's
/// metadata (the credentials the guard already accepted). Thread-safe.
public struct AdminAudit: Sendable {
  public let identify: @Sendable (Metadata) async -> (caller: String, credential: String)
  public let record: @Sendable (AdminAuditRecord) -> Void

  public init(identify: @escaping @Sendable (Metadata) async -> (caller: String, credential: String),
              record: @escaping @Sendable (AdminAuditRecord) -> Void) {
    self.identify = identify
    self.record = record
  }

  /// Runs `body` as the Admin call `rpc` with `arguments`, recording how it ended.
  func audited<Response: Sendable>(_ rpc: String, _ metadata: Metadata, arguments: [String: String],
                                   _ body: () async throws -> Response) async throws -> ServerResponse<Response> {
    let started = ContinuousClock.now
    let timeMs = Int64(Date().timeIntervalSince1970 * 1_000)
    let who = await identify(metadata)
    do {
      let response = try await body()
      record(rpc, who, arguments, result: "OK", timeMs: timeMs, since: started)
      return ServerResponse(message: response)
    } catch {
      record(rpc, who, arguments, result: Self.codeName(of: error), timeMs: timeMs, since: started)
      throw error
    }
  }

  /// Records the Admin call `rpc` refused before it ran (no or bad credentials, no scope, over a limit).
  func refused(_ rpc: String, _ metadata: Metadata, error: any Error) async {
    let (started, timeMs) = (ContinuousClock.now, Int64(Date().timeIntervalSince1970 * 1_000))
    record(rpc, await identify(metadata), [:], result: Self.codeName(of: error), timeMs: timeMs, since: started)
  }

  private func record(_ rpc: String, _ who: (caller: String, credential: String), _ arguments: [String: String],
                      result: String, timeMs: Int64, since started: ContinuousClock.Instant) {
    record(AdminAuditRecord(timeMs: timeMs, caller: who.caller, credential: who.credential, rpc: "funnel.v1.Admin/\(rpc)",
                            arguments: arguments, result: result,
                            durationMs: Double((ContinuousClock.now - started) / .microseconds(1)) / 1_000))
  }

  private static func codeName(of error: any Error) -> String {
    ErrorStatusMapping.codeName(Status.Code(ErrorStatusMapping.rpcError(from: error).code))
  }
}
