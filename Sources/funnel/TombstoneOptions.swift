import ArgumentParser
import Foundation
import FunnelSecurity
import RedisStore

/// `--tombstones SOURCE` of the commands that read event files (index build, export replay): events
/// of users forgotten since the files were written are left out. SOURCE is the servers' Redis URL
/// (its `funnel:tombstones` set, kept by ForgetUser) or a file of SHA-256 digests, one per line.
struct TombstoneOptions: ParsableArguments {
  @Option(help: "Leave out events of forgotten users: the servers' Redis URL, or a file of user-id SHA-256 digests (one per line).")
  var tombstones: String?

  /// The digests of forgotten users (empty: none given).
  func load() async throws -> Set<String> {
    guard let tombstones else { return [] }
    if tombstones.hasPrefix("redis://") {
      do {
        return try await RedisErasureLog(client: try RedisClient(url: tombstones, timeoutMs: 10_000)).tombstones()
      } catch {
        throw ValidationError("--tombstones \(tombstones): \(error)")
      }
    }
    guard let data = FileManager.default.contents(atPath: tombstones) else {
      throw ValidationError("--tombstones \(tombstones): cannot read")
    }
    return Set(String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
  }

  /// Whether `user` was forgotten.
  static func forgotten(_ user: String, in digests: Set<String>) -> Bool {
    !digests.isEmpty && digests.contains(UserIDDigest.hex(user))
  }
}
