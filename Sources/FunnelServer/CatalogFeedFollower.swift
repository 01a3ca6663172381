import FunnelCore
import Logging
import Prometheus
import RedisStore
import ServiceLifecycle
import Serving
import Synchronization

/// Keeps a replica's catalog overlay equal to the fleet's change feed: reads the whole feed at
/// start, then what follows each append (a message on `PREFIX catalog` wakes it at once; a poll
/// every `pollEvery` covers a missed message or a broken subscription), and lays the entries over
/// the serving generation (`ServingEngine.setCatalogChanges`). Entries a served generation folded
/// in are dropped from memory. An entry that cannot be read is skipped and counted
/// (`funnel_catalog_feed_unreadable_total`); gauge `funnel_catalog_overlay_changes` is the overlay's
/// size. A lifecycle `Service`; the subscriber blocks a thread of its own.
public struct CatalogFeedFollower: Service {
  let engine: ServingEngine
  let feed: RedisCatalogFeed
  let subscriber: RedisSubscriber
  let pollEvery: Duration
  let logger: Logger
  let unreadable: Counter
  let overlaySize: Gauge

  /// A follower of the feed in the Redis at `url` (`redis` is its client).
  public init(engine: ServingEngine, redis: RedisClient, url: String, keyPrefix: String = "funnel:",
              pollEvery: Duration = .seconds(1), logger: Logger) throws {
    self.engine = engine
    self.feed = RedisCatalogFeed(client: redis, keyPrefix: keyPrefix)
    self.subscriber = try RedisSubscriber(url: url, channel: keyPrefix + "catalog", pollMs: 200)
    self.pollEvery = pollEvery
    self.logger = logger
    let registry = engine.metrics.registry
    unreadable = registry.makeCounter(descriptor: .init(namespace: "funnel", metricName: "catalog_feed_unreadable", unitName: "total",
                                                        helpText: "Catalog feed entries this replica could not read (skipped)."))
    overlaySize = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: "catalog_overlay_changes", unitName: "",
                                                       helpText: "Live catalog changes laid over the serving generation."))
  }

  /// The feed as one replica holds it: entries in order and the last position read.
  final class Held: Sendable {
    let state = Mutex<(entries: [CatalogFeedEntry], last: String?, folded: String?)>(([], nil, nil))
  }

  public func run() async throws {
    let held = Held()
    await AnnouncementLoop.run(subscriber, threadName: "funnel-catalog-follower", pollEvery: pollEvery) { await self.step(held) }
  }

  /// One look: reads what followed the last position and lays the feed over the generation when
  /// something changed (new entries, or a generation that folded some in).
  func step(_ held: Held) async {
    let last = held.state.withLock { $0.last }
    let fresh: [RedisCatalogFeed.Entry]
    do {
      fresh = try await feed.read(after: last)
    } catch {
      logger.warning("catalog feed unreachable; the overlay keeps what it has", metadata: ["error": "\(error)"])
      return
    }
    let folded = engine.generation.manifest.catalogThrough
    var decoded: [CatalogFeedEntry] = []
    for entry in fresh {
      do {
        decoded.append(try RedisCatalogSink.decode(entry))
      } catch {
        unreadable.increment()
        logger.error("catalog feed entry skipped", metadata: ["position": "\(entry.position)", "error": "\(error)"])
      }
    }
    let entries: [CatalogFeedEntry]? = held.state.withLock { state in
      guard !fresh.isEmpty || folded != state.folded else { return nil }
      state.last = fresh.last?.position ?? state.last
      state.entries += decoded
      if let folded, folded != state.folded {
        state.entries.removeAll { !CatalogFeedEntry.precedes(folded, $0.position) }
      }
      state.folded = folded
      return state.entries
    }
    guard let entries else { return }
    let overlay = engine.setCatalogChanges(entries)
    overlaySize.set(Double(overlay?.changeCount ?? 0))
  }
}
