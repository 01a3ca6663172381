import ArgumentParser
import EventArchive
import Foundation
import FunnelCore
import FunnelSecurity
import FunnelServer
import IndexBuilder
import IndexFormat
import RedisStore
import Serving

/// `funnel pipeline run`: one turn of the wheel, for cron or a Kubernetes CronJob.
struct PipelineCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pipeline", abstract: "Turn the wheel: rebuild (archive, build, validate, publish), retrain with an offline gate, judge the canary.", subcommands: [PipelineRun.self, PipelineRetrain.self, PipelineCanary.self, PipelineReplay.self])
}

struct PipelineRun: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Drain the events into the archive, build a generation from the catalog, the live catalog changes and the archive, validate it, publish it and keep the newest K.",
    discussion: """
      Steps, each stopping the run on failure (exit 2) with the generations the fleet serves untouched: \
      (1) `archive drain`, and `archive forget` for users forgotten since; (2) unless --min-new-events is not reached since the newest generation, a build \
      like `index build --catalog-feed --archive`; (3) validation: at least --min-item-ratio of the previous \
      generation's items, and each of --smoke-queries sampled items found in the top 10 by its title (a refused \
      generation is deleted, exit 3); (4) with --to, publish and announce it, and with --wait, once every live \
      replica serves it, trim the catalog changes it folded in; (5) keep the newest --keep generations.
      """)

  @Option(name: .customLong("redis"), help: "The fleet's Redis URL (events, catalog changes, announcements).") var redisURL: String
  @Option(help: "Catalog JSON lines.") var catalog: String
  @Option(help: "Event archive directory.") var archive: String
  @Option(help: "Events JSON lines from before the archive (a data set's history), read with it.") var events: String?
  @Option(help: "Directory of generations built here.") var out: String
  @Option(help: "Shared location replicas fetch from; without it nothing is published.") var to: String?
  @Option(help: "Seconds to wait for every live replica to serve the new generation (0: do not wait; the feed is then not trimmed).") var wait = 0
  @Option(help: "Generations to keep under --out.") var keep = 3
  @Option(help: "Build only when at least this many events were archived since the newest generation.") var minNewEvents = 0
  @Option(help: "Least items, as a share of the previous generation's.") var minItemRatio = 0.9
  @Option(help: "Items sampled for the smoke queries.") var smokeQueries = 100
  @Option(help: "Build time as Unix ms (default: now).") var nowMs: Int64?

  func run() async throws {
    do {
      let client = try RedisClient(url: redisURL, timeoutMs: 10_000)
      let stream = try await RedisEventStream.discover(client: client, store: RedisFeatureStore(client: client))
      let tombstones = try await RedisErasureLog(client: client).tombstones()
      let drained = try await ArchiveDrain(archive: EventArchive(root: archive), stream: stream).run(tombstones: tombstones)
      print("archive: \(drained.events) events in \(drained.segments) new segments")
      // Users forgotten since their events were archived leave the archive too.
      let erased = try EventArchive(root: archive).forget { !tombstones.isEmpty && tombstones.contains(UserIDDigest.hex($0)) }
      if erased.events > 0 { print("archive: rewrote \(erased.segments) segments without \(erased.events) events of forgotten users") }

      let previousPath = GenerationDirectory.newest(under: out)
      let previous = try previousPath.map { try IndexGeneration.open(directory: $0) }
      if let previous, minNewEvents > 0 {
        let since = try EventArchive(root: archive).segments().filter { $0.lastEventMs > previous.manifest.builtAtMs }.reduce(0) { $0 + $1.events }
        guard since >= minNewEvents else {
          print("build skipped: \(since) events archived since \(previous.version), fewer than \(minNewEvents)")
          return
        }
      }
      let feed = try await CatalogCommand.changes(url: redisURL)
      let built = try IndexBuild.build(catalog: catalog, events: events, archive: archive, feed: feed, tombstones: tombstones, out: out,
                                       nowMs: nowMs ?? Int64(Date().timeIntervalSince1970 * 1000))
      print(built.summary)

      let report = GenerationValidator(minItemRatio: minItemRatio, smokeQueries: smokeQueries)
        .check(try IndexGeneration.open(directory: built.path, verifyChecksums: true), previous: previous)
      print("validation: \(report.items) items (previous \(report.previousItems)), smoke queries \(report.smokeFound)/\(report.smokeQueries) found")
      guard report.passed else {
        try? FileManager.default.removeItem(atPath: built.path)
        print("error: \(built.manifest.version) refused: \(report.problems.joined(separator: "; "))")
        throw ExitCode(3)
      }
      if let to {
        let manifest = try await IndexPublish.publish(built.path, to: to, redis: client)
        print("published \(manifest.version) to \(to) and announced it")
        if wait > 0 {
          guard try await IndexPublish.waitUntilServed(manifest.version, redis: client, seconds: wait) else { throw ExitCode(1) }
          if let through = manifest.catalogThrough {
            let removed = try await RedisCatalogFeed(client: client).trim(through: through)
            print("catalog feed: trimmed \(removed) changes folded into \(manifest.version)")
          }
        }
      }
      let pruned = try GenerationDirectory.prune(under: out, keep: max(1, keep))
      if !pruned.isEmpty { print("pruned \(pruned.joined(separator: ", "))") }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    } catch let error as RedisError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
