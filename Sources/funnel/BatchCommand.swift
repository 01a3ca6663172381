import ArgumentParser
import BatchClient
import Foundation
import FunnelCore
import FunnelGRPC
import FunnelSecurity

/// `funnel batch`: recommendations for a list of users (email campaigns), resumable.
struct Batch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Stream users through BatchRecommend and write one JSON line per user.",
    discussion: "Bad users get an error line and the run continues. Interrupted? Run again with --resume: "
      + "the checkpoint beside the output says where to continue, without redoing or duplicating users.")
  @Option(help: "Server address HOST:PORT, or several separated by commas (chunks spread over them; a chunk answered UNAVAILABLE goes to the next).") var target = "127.0.0.1:50051"
  @Option(help: "Users: CSV (first column) or JSON lines (user_id).") var users: String
  @Option(help: "Output JSON lines.") var out: String
  @Option(help: "Scene: email, home, cart.") var scene = "email"
  @Option(help: "Items per user.") var count = 20
  @Option(help: "Streams in flight.") var concurrency = 4
  @Option(help: "Users per stream.") var chunk = 2_000
  @Flag(help: "Continue an interrupted run from its checkpoint.") var resume = false
  @OptionGroup var security: ClientSecurityOptions
  @Option(name: .customLong("encrypt-key"),
          help: "Seal the output with AES-256-GCM once the run is complete (funnel auth new-encryption-key; funnel decrypt opens it).")
  var encryptKey: String?

  func run() async throws {
    let targets = try parseTargets(target)
    let scenes: [String: Funnel_V1_Scene] = ["email": .email, "home": .home, "cart": .cart]
    guard let sceneValue = scenes[scene] else { throw ValidationError("--scene: email, home or cart") }
    var job = BatchJob(targets: targets, usersPath: users, outputPath: out)
    job.security = security.value
    job.scene = sceneValue
    job.count = count
    job.concurrency = max(1, concurrency)
    job.chunkSize = max(1, chunk)
    job.resume = resume
    let total = UserFile.countLines(users)
    do {
      let summary = try await job.run { done, errors, seconds in
        let rate = Double(done) / max(seconds, 0.001)
        let eta = rate > 0 ? Double(max(0, total - done)) / rate : 0
        let width = 30, filled = total > 0 ? min(width, done * width / total) : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d users  %.0f/s  errors %d  ETA %.0f s   ",
                                                   bar, done, total, rate, errors, eta).utf8))
      }
      FileHandle.standardError.write(Data("\n".utf8))
      if let encryptKey {
        // The run is complete (an interrupted one resumes from the plaintext and its checkpoint).
        let key = try SealedFile.key(fromFile: encryptKey)
        let sealed = out + ".sealing"
        try SealedFile.seal(out, to: sealed, key: key)
        guard rename(sealed, out) == 0 else { throw ValidationError("\(sealed): cannot move over \(out) (errno \(errno))") }
      }
      print(String(format: "%d users in %.1f s (%.0f users/s), %d error lines%@; output %@", summary.rows, summary.seconds,
                   Double(summary.rows) / max(summary.seconds, 0.001), summary.errors,
                   summary.skipped > 0 ? ", \(summary.skipped) done before (resumed)" : "", out))
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
