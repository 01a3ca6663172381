import ArgumentParser
import Foundation
import FunnelCore
import MongoStore

/// `funnel features`: offline features into MongoDB.
struct Features: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Load offline item and user features into MongoDB.", subcommands: [FeaturesLoad.self])
}

struct FeaturesLoad: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "load",
    abstract: "Upsert JSON-lines feature files (one object per line with an 'id') into the items and users collections.",
    discussion: "Idempotent: loading the same file twice changes nothing. Top-level numbers and booleans are features.")
  @Option(help: "MongoDB URI, e.g. mongodb://127.0.0.1:27017/?directConnection=true") var mongo: String
  @Option(help: "Database.") var database = "funnel"
  @Option(help: "Item features (JSON lines).") var items: String?
  @Option(help: "User profiles (JSON lines).") var users: String?

  func run() async throws {
    guard items != nil || users != nil else { throw ValidationError("give --items, --users or both") }
    do {
      let store = MongoFeatureStore(client: try MongoClient(uri: mongo), database: database, now: { 0 })
      for (path, collection) in [(items, store.itemsCollection), (users, store.usersCollection)] {
        guard let path else { continue }
        let text: String
        do {
          text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
          throw FunnelError(.notFound, "\(path): cannot read (\(error.localizedDescription))")
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        let written = try await store.load(lines: lines, into: collection, source: path)
        print("\(path): \(written) documents upserted into \(database).\(collection)")
      }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    } catch let error as MongoError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
