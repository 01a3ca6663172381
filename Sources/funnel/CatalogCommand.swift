import ArgumentParser
import FunnelCore
import FunnelServer
import RedisStore

/// `funnel catalog`: the fleet's live catalog change feed (UpsertItems, DeleteItems).
struct CatalogCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "catalog", abstract: "Inspect and trim the live catalog change feed.",
    discussion: """
      Replicas lay the feed over their generation. `funnel index build --catalog-feed URL` folds it into a new \
      generation (which records the position it includes); once the fleet serves that generation, \
      `funnel catalog trim --through POSITION` drops the folded changes.
      """,
    subcommands: [CatalogList.self, CatalogTrim.self])

  /// Every change in the feed of the Redis at `url`, in order. Throws `ValidationError` naming the URL.
  static func changes(url: String) async throws -> [CatalogFeedEntry] {
    do {
      let feed = RedisCatalogFeed(client: try RedisClient(url: url, timeoutMs: 10_000))
      return try await feed.read(after: nil).map(RedisCatalogSink.decode)
    } catch {
      throw ValidationError("catalog feed at \(RedisDeployment.redacted(url)): \(error)")
    }
  }
}

struct CatalogList: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "ls", abstract: "Print the feed's changes, one per line (position, operation, item id).")
  @Option(help: "The fleet's Redis URL.") var redis: String

  func run() async throws {
    let entries = try await CatalogCommand.changes(url: redis)
    for entry in entries {
      switch entry.change {
      case .upsert(let item): print("\(entry.position) upsert \(item.id) price=\(item.price) in_stock=\(item.inStock)")
      case .delete(let id): print("\(entry.position) delete \(id)")
      }
    }
    print("\(entries.count) changes")
  }
}

struct CatalogTrim: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "trim", abstract: "Drop the changes up to a feed position (folded into a served generation).")
  @Option(help: "The fleet's Redis URL.") var redis: String
  @Option(help: "The last position to drop: the `catalogThrough` of the generation the fleet serves.") var through: String

  func run() async throws {
    do {
      let removed = try await RedisCatalogFeed(client: try RedisClient(url: redis, timeoutMs: 10_000)).trim(through: through)
      print("removed \(removed) changes through \(through)")
    } catch {
      throw ValidationError("catalog feed at \(RedisDeployment.redacted(redis)): \(error)")
    }
  }
}
