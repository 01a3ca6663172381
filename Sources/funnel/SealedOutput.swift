import ArgumentParser
import Foundation
import FunnelSecurity

/// `--encrypt-key FILE` of the commands that write personal data (exports): the output is sealed
/// with AES-256-GCM (`SealedFile`; `funnel decrypt` opens it). The command writes a plaintext file
/// beside the output (mode 0600), which is sealed into the output and removed.
struct SealedOutputOptions: ParsableArguments {
  @Option(name: .customLong("encrypt-key"),
          help: "File with a 64-hex-digit AES-256 key (funnel auth new-encryption-key): seal the output with AES-256-GCM.")
  var keyFile: String?

  /// Runs `write` with the path it should write, then seals that into `out` when a key was given.
  func writing<T>(_ out: String, _ write: (String) async throws -> T) async throws -> T {
    guard let keyFile else { return try await write(out) }
    let key = try SealedFile.key(fromFile: keyFile)
    let plain = out + ".plain-\(ProcessInfo.processInfo.processIdentifier)"
    guard FileManager.default.createFile(atPath: plain, contents: nil, attributes: [.posixPermissions: 0o600]) else {
      throw ValidationError("\(plain): cannot create")
    }
    defer { try? FileManager.default.removeItem(atPath: plain) }
    let result = try await write(plain)
    try SealedFile.seal(plain, to: out, key: key)
    return result
  }
}

/// `funnel decrypt`: opens a file sealed by `--encrypt-key`.
struct Decrypt: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Open a file sealed with --encrypt-key (AES-256-GCM); fails, writing nothing, on a wrong key or a changed file.")
  @Option(help: "The key file the output was sealed with.") var key: String
  @Argument(help: "The sealed file.") var input: String
  @Argument(help: "Where to write the plaintext (mode 0600).") var output: String

  func run() throws {
    do {
      try SealedFile.open(input, to: output, key: try SealedFile.key(fromFile: key))
    } catch let error as SealedFile.Failure {
      throw ValidationError(error.description)
    }
  }
}
