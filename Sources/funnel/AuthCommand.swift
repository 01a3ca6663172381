import ArgumentParser
import Foundation
import FunnelSecurity

/// `funnel auth`: credentials for callers of a server that authenticates.
struct AuthCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "auth", abstract: "Make credentials for callers, and encryption keys.", subcommands: [NewKey.self, NewEncryptionKey.self])

  struct NewKey: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "new-key",
      abstract: "Make an API key: print the key (give it to the caller, once) and the auth.apiKeys entry (only its SHA-256).",
      discussion: "Append the entry to auth.apiKeys (comma-separated) and restart or roll the replicas. Scopes: "
        + Scope.allCases.map(\.rawValue).joined(separator: ", ") + ".")
    @Argument(help: "The key's name (shown in refusals and the audit log).") var name: String
    @Option(help: "Scopes, comma-separated.") var scopes = "recommend"

    func run() throws {
      guard !name.isEmpty, !name.contains(":"), !name.contains(",") else {
        throw ValidationError("the name must be non-empty, without ':' or ','")
      }
      var granted: [Scope] = []
      for raw in scopes.split(separator: ",") {
        guard let scope = Scope(rawValue: raw.trimmingCharacters(in: .whitespaces)) else {
          throw ValidationError("unknown scope '\(raw)': one of \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        granted.append(scope)
      }
      let (key, entry) = APIKeys.makeKey(name: name, scopes: granted)
      print("key:   \(key)")
      print("entry: \(entry)")
    }
  }

  struct NewEncryptionKey: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "new-encryption-key",
      abstract: "Print a new AES-256 key (64 hex digits) for --encrypt-key; keep it in a file only its owner reads.")

    func run() { print(SealedFile.newKey()) }
  }
}
