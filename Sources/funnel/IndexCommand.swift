import ArgumentParser
import DemoCatalog
import EventArchive
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import MappedStorage
import TextAnalysis

/// `funnel index`: build and inspect index generations.
struct Index: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Build and inspect index generations.", subcommands: [IndexBuild.self, IndexInspect.self, IndexPublish.self])
}

struct IndexBuild: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build",
    abstract: "Build a new immutable generation under --out from a catalog (and events).",
    discussion: "Older generations stay until pruned (--keep). A running `funnel serve --index DIR` picks the new one up.")

  @Option(help: "Catalog JSON lines (Indexes/README.md).") var catalog: String
  @Option(help: "Behaviour events JSON lines, for popularity and item-to-item neighbours.") var events: String?
  @Option(help: "An event archive directory (`funnel archive drain`) whose events are read too.") var archive: String?
  @Option(help: "Directory holding generations.") var out: String
  @Option(help: "Keep only the newest N generations after building (0 = keep all).") var keep = 0
  @Option(help: "Build time as Unix ms (default: now); events are decayed to this time.") var nowMs: Int64?
  @OptionGroup var forgotten: TombstoneOptions
  @Option(help: "How item text is analysed for search: english (folding, stop words, Snowball stemming), another libstemmer language, or plain (tokens as they are).")
  var textAnalysis = "english"
  @Option(help: "Search synonyms file (Solr format: 'sofa, couch' equivalent, 'jumper => sweater' one-way), stored in the generation.")
  var synonyms: String?
  @Option(help: "How much each field counts in search (title, brand, category, tags, attributes; 0...10 each; unnamed fields keep their default).")
  var fieldWeights = SearchFields.standard.description
  @Option(help: "Learned factors to serve (a directory of items.tsv, users.tsv and factors.json, as Training/train_factors.py writes them): item factors become the factors channel's index, user factors go into users.fnl.")
  var factors: String?
  @Option(help: "Fold the live catalog changes of this Redis's change feed (UpsertItems, DeleteItems) into the catalog; the generation records the feed position it includes.")
  var catalogFeed: String?

  func run() async throws {
    do {
      let tombstones = try await forgotten.load()
      var feed: [CatalogFeedEntry] = []
      if let catalogFeed { feed = try await CatalogCommand.changes(url: catalogFeed) }
      let built = try Self.build(catalog: catalog, events: events, archive: archive, feed: feed, tombstones: tombstones,
                                 out: out, nowMs: nowMs ?? Int64(Date().timeIntervalSince1970 * 1000),
                                 analyzer: try Self.analyzer(textAnalysis), synonyms: try Self.synonyms(synonyms, textAnalysis),
                                 fields: try SearchFields(parsing: fieldWeights),
                                 factors: try factors.map { try LearnedFactors.read(directory: $0) })
      let pruned = keep > 0 ? try GenerationDirectory.prune(under: out, keep: keep) : []
      print(built.summary)
      if !pruned.isEmpty { print("pruned \(pruned.joined(separator: ", "))") }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }

  /// The analyzer `--text-analysis NAME` names; `invalidArgument` listing the known ones otherwise.
  static func analyzer(_ name: String) throws -> TextAnalyzer {
    do { return try TextAnalyzer(named: name) } catch let error as TextAnalysisError {
      throw FunnelError(.invalidArgument, "--text-analysis: \(error.message)")
    }
  }

  /// The text of the synonyms file at `path` (nil: none), checked by parsing it with the analysis
  /// `analysis` names; `invalidArgument` naming the file and line otherwise.
  static func synonyms(_ path: String?, _ analysis: String) throws -> String? {
    guard let path else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw FunnelError(.invalidArgument, "--synonyms \(path): cannot read")
    }
    let text = String(decoding: data, as: UTF8.self)
    do { _ = try SynonymMap(parsing: text, analyzer: try analyzer(analysis)) } catch let error as TextAnalysisError {
      throw FunnelError(.invalidArgument, "--synonyms \(path): \(error.message)")
    }
    return text
  }

  /// A generation built under `out`.
  struct Built {
    var path: String
    var manifest: GenerationManifest
    /// What the build printed: sizes, times, the catalog changes folded.
    var summary: String
  }

  /// Builds a generation under `out` from the catalog with `feed` folded in (the newest change of
  /// each item: upserts replace or follow the catalog's item, deletes drop it) and the events of
  /// the `events` file and the `archive` (users in `tombstones` left out), as of `nowMs`. Streams
  /// every input through the accumulator and writes each finished file straight to disk: memory
  /// holds the compact indexes being built, never the parsed inputs.
  static func build(catalog: String, events: String?, archive: String?, feed: [CatalogFeedEntry], tombstones: Set<String>,
                    out: String, nowMs now: Int64, analyzer: TextAnalyzer = .english, synonyms: String? = nil,
                    fields: SearchFields = .standard, factors: LearnedFactors? = nil) throws -> Built {
    // Big structures are made and freed in turn: each gets its own mapping, returned when freed.
    HeapTuning.mapAllocations(from: 1 << 20)
    let clock = ContinuousClock()
    let start = clock.now
    var pending: [String: CatalogChange] = [:]
    var order: [String] = []
    for entry in feed where pending.updateValue(entry.change, forKey: entry.change.itemID) == nil { order.append(entry.change.itemID) }
    var options = GenerationBuilder.Options()
    options.textAnalyzer = analyzer
    options.synonyms = synonyms
    options.searchFields = fields
    options.factors = factors
    var accumulator = GenerationAccumulator(options: options, nowMs: now)
    // Lines are parsed on every core and each batch folded on two threads (this command's thread
    // may block: it is the whole process's work).
    var sources = [try JSONLines.forEachItemBatch(path: catalog) { batch in
      var folded: [CatalogItem] = []
      folded.reserveCapacity(batch.count)
      for item in batch {
        switch pending.isEmpty ? .none : pending.removeValue(forKey: item.id) {
        case .none: folded.append(item)
        case .upsert(let changed): folded.append(changed)
        case .delete: break
        }
      }
      try accumulator.add(contentsOf: folded)
    }]
    for id in order {
      if case .upsert(let added) = pending[id] { try accumulator.add(added) }
    }
    if let events {
      sources.append(try JSONLines.forEachEventBatch(path: events) { batch in
        accumulator.add(contentsOf: tombstones.isEmpty ? batch : batch.filter { !TombstoneOptions.forgotten($0.userID, in: tombstones) })
      })
    }
    if let archive {
      let store = EventArchive(root: archive)
      var crc: UInt32 = 0, bytes = 0
      for segment in try store.segments() {
        accumulator.add(contentsOf: try store.read(segment).filter { !TombstoneOptions.forgotten($0.userID, in: tombstones) })
        crc = CRC32C.checksum(withUnsafeBytes(of: segment.crc32c.littleEndian) { Array($0) }, seed: crc)
        bytes += segment.bytes
      }
      sources.append(GenerationManifest.SourceEntry(path: archive, bytes: bytes, crc32c: crc))
    }
    let read = clock.now - start
    var writer = try GenerationDirectoryWriter(root: out, version: GenerationDirectory.newName(nowMs: now))
    var manifest = try accumulator.finish(version: writer.version, sources: sources, into: &writer)
    manifest.catalogThrough = feed.last?.position
    let path = try writer.commit(manifest)
    let total = clock.now - start
    let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
    let bytes = manifest.files.reduce(0) { $0 + $1.bytes }
    var summary = "built \(path): \(manifest.itemCount) items, \(manifest.eventCount) events (\(manifest.skippedEvents) skipped), "
      + "\(bytes) bytes in \(String(format: "%.2f", seconds)) s (reading \(read)), "
      + "\(Int(Double(manifest.itemCount) / max(seconds, 1e-9))) items/s"
    if let through = manifest.catalogThrough { summary += "\nfolded \(feed.count) catalog changes through feed position \(through)" }
    return Built(path: path, manifest: manifest, summary: summary)
  }
}

struct IndexInspect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Print the newest generation's manifest and sizes, and check it opens.")

  @Argument(help: "Directory holding generations (or one generation directory).") var directory: String
  @Flag(help: "Also verify every file's checksum.") var verify = false

  func run() async throws {
    let path = FileManager.default.fileExists(atPath: directory + "/manifest.json")
      ? directory : (GenerationDirectory.newest(under: directory) ?? "")
    guard !path.isEmpty else {
      print("error: \(directory) holds no index generation")
      throw ExitCode(2)
    }
    do {
      let clock = ContinuousClock()
      let start = clock.now
      let generation = try IndexGeneration.open(directory: path, verifyChecksums: verify)
      let openTime = clock.now - start
      let m = generation.manifest
      print("generation \(m.version) (format \(m.formatVersion)) at \(path)")
      print("built \(Date(timeIntervalSince1970: Double(m.builtAtMs) / 1000)) from \(m.itemCount) items, "
            + "\(m.eventCount) events (\(m.skippedEvents) skipped)")
      print("\(m.termCount) terms, \(m.keywordCount) keywords, \(m.categoryCount) categories, \(m.neighbourCount) neighbour links")
      for f in m.files { print("  \(f.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(f.bytes) bytes  crc32c \(String(f.crc32c, radix: 16))") }
      for s in m.sources { print("  source \(s.path) \(s.bytes) bytes crc32c \(String(s.crc32c, radix: 16))") }
      print("opened in \(openTime)\(verify ? " with checksums verified" : "")")
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
