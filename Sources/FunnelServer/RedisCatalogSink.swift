import FunnelCore
import IndexBuilder
import RedisStore
import Serving

/// UpsertItems and DeleteItems into the fleet's change feed (`RedisCatalogFeed`): an upsert carries
/// the item as its catalog JSON line (the index builder's format, so a rebuild reads the same text),
/// a delete carries the id. A store failure is UNAVAILABLE. Thread-safe.
public struct RedisCatalogSink: CatalogChangeSink {
  let feed: RedisCatalogFeed

  /// A sink appending to `feed`.
  public init(feed: RedisCatalogFeed) { self.feed = feed }

  public func length() async throws -> Int {
    do { return try await feed.length() } catch { throw FunnelError(.unavailable, "catalog feed: \(error)") }
  }

  public func append(_ changes: [CatalogChange]) async throws -> [String] {
    let encoded = changes.map(Self.encode)
    do { return try await feed.append(encoded) } catch { throw FunnelError(.unavailable, "catalog feed: \(error)") }
  }

  static func encode(_ change: CatalogChange) -> (operation: String, payload: String) {
    switch change {
    case .upsert(let item): ("upsert", JSONLinesWriter.catalogLine(item))
    case .delete(let id): ("delete", id)
    }
  }

  /// The change of a feed entry; throws `invalidArgument` naming the position for an entry this
  /// version cannot read.
  public static func decode(_ entry: RedisCatalogFeed.Entry) throws -> CatalogFeedEntry {
    switch entry.operation {
    case "upsert":
      let item = try JSONLines.item(line: entry.payload, place: "catalog feed entry \(entry.position)")
      return CatalogFeedEntry(position: entry.position, change: .upsert(item))
    case "delete":
      return CatalogFeedEntry(position: entry.position, change: .delete(entry.payload))
    default:
      throw FunnelError(.invalidArgument, "catalog feed entry \(entry.position): unknown operation '\(entry.operation.prefix(32))'")
    }
  }
}
