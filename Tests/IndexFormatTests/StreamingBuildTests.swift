import DemoCatalog
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import Testing
import TextAnalysis

/// The streaming path of `funnel index build` (JSON lines -> `GenerationAccumulator` ->
/// `GenerationDirectoryWriter`) against the in-memory build, and the line parser it reads with.
@Suite struct StreamingBuildTests {
  static let store = DemoStore(.small())

  @Test func streamingFromFilesWritesTheSameBytesAsTheInMemoryBuild() throws {
    let root = NSTemporaryDirectory() + "funnel-stream-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try JSONLines.writeCatalog(Self.store.items, to: root + "/items.jsonl")
    try JSONLines.writeEvents(Self.store.events, to: root + "/events.jsonl")
    let now: Int64 = 1_790_000_000_000
    let expected = GenerationBuilder().build(items: Self.store.items, events: Self.store.events, nowMs: now, version: "mem")

    var accumulator = GenerationAccumulator(nowMs: now)
    let sources = [try JSONLines.forEachItemBatch(path: root + "/items.jsonl") { for item in $0 { try accumulator.add(item) } },
                   try JSONLines.forEachEventBatch(path: root + "/events.jsonl") { for event in $0 { accumulator.add(event) } }]
    var writer = try GenerationDirectoryWriter(root: root + "/gens", version: "streamed")
    let manifest = try accumulator.finish(version: "streamed", sources: sources, into: &writer)
    let path = try writer.commit(manifest)

    #expect(manifest.files == expected.manifest.files, "same sizes and checksums, file by file")
    #expect(manifest.sources.map(\.bytes) == sources.map(\.bytes) && manifest.itemCount == Self.store.items.count)
    for (name, bytes) in expected.images {
      #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))) == bytes, "\(name)")
    }
    let opened = try IndexGeneration.open(directory: path, verifyChecksums: true)
    #expect(opened.manifest == manifest && !FileManager.default.fileExists(atPath: root + "/gens/.tmp-streamed"))
  }

  /// Batches folded on two threads (the text and keyword indexes beside the rest) write the same
  /// files as items added one by one; a repeated id inside a batch is still refused.
  @Test func batchesFoldedOnTwoThreadsWriteTheSameFiles() throws {
    let now: Int64 = 1_790_000_000_000
    let expected = GenerationBuilder().build(items: Self.store.items, events: Self.store.events, nowMs: now, version: "v")
    var accumulator = GenerationAccumulator(nowMs: now)
    let sizes = [1, 2, 37, 500, 1_000]
    var (start, round) = (0, 0)
    while start < Self.store.items.count {
      let end = min(start + sizes[round % sizes.count], Self.store.items.count)
      try accumulator.add(contentsOf: Array(Self.store.items[start..<end]))
      (start, round) = (end, round + 1)
    }
    // Events in batches too (their lookups and weights made on two threads): a user's first
    // events may share a batch, and the same users come back in later ones.
    (start, round) = (0, 0)
    while start < Self.store.events.count {
      let end = min(start + sizes[(round + 2) % sizes.count], Self.store.events.count)
      accumulator.add(contentsOf: Array(Self.store.events[start..<end]))
      (start, round) = (end, round + 1)
    }
    var sink = MemoryGenerationSink()
    let manifest = try accumulator.finish(version: "v", into: &sink)
    #expect(manifest.files == expected.manifest.files)
    #expect(manifest.eventCount == Self.store.events.count)
    // The names of the files that differ (not their bytes, which would flood the log).
    #expect(Set(sink.images.keys) == Set(expected.images.keys))
    #expect(expected.images.keys.filter { sink.images[$0] != expected.images[$0] }.sorted() == [])

    var repeated = GenerationAccumulator(nowMs: now)
    let error = #expect(throws: FunnelError.self) {
      try repeated.add(contentsOf: [Self.store.items[0], Self.store.items[1], Self.store.items[0]])
    }
    #expect(error?.message.contains("'\(Self.store.items[0].id)' appears twice") == true)
  }

  @Test func aRepeatedItemIDIsRefused() throws {
    var accumulator = GenerationAccumulator(nowMs: 0)
    try accumulator.add(Self.store.items[0])
    let error = #expect(throws: FunnelError.self) { try accumulator.add(Self.store.items[0]) }
    #expect(error?.message.contains(Self.store.items[0].id) == true)
  }

  @Test(arguments: [false, true]) func eventsBeforeTheirItemsAreSkippedAndCounted(batched: Bool) throws {
    var accumulator = GenerationAccumulator(nowMs: 1_790_000_000_000)
    if batched {
      accumulator.add(contentsOf: Array(Self.store.events.prefix(10)))
    } else {
      for event in Self.store.events.prefix(10) { accumulator.add(event) }
    }
    for item in Self.store.items { try accumulator.add(item) }
    var sink = MemoryGenerationSink()
    let manifest = try accumulator.finish(version: "v", into: &sink)
    #expect(manifest.eventCount == 10 && manifest.skippedEvents == 10 && manifest.itemCount == Self.store.items.count)
  }

  @Test func writerEscapesWhatTheReaderReadsBack() throws {
    let path = NSTemporaryDirectory() + "funnel-escape-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let item = CatalogItem(id: "a\"b\\c", title: "Line\nbreak\ttab \u{1} ünïcødé 🍵", categoryPath: ["home", "tea"],
                           brand: "", price: 1e-7, tags: ["x/y"], inStock: false, embedding: [0.1, -3.25e-8],
                           attributes: ["size": .number(-12.5), "note": .text("\"quoted\"")])
    try JSONLines.writeCatalog([item], to: path)
    #expect(try JSONLines.readCatalog(path: path).0 == [item])
  }

  /// The ASCII fast path of the tokenizer agrees with the Unicode path: a trailing non-ASCII word
  /// forces the Unicode path over the same text.
  @Test func asciiTokensEqualTheUnicodePath() {
    var rng = SplitMix64(seed: 5)
    for _ in 0..<2_000 {
      let text = String((0..<Int(rng.next() % 40)).map { _ in Character(Unicode.Scalar(UInt8(rng.next() % 128))) })
      #expect(Tokenizer.tokens(text + " é") == Tokenizer.tokens(text) + ["é"], "\(text.debugDescription)")
    }
    #expect(Tokenizer.tokens("Oak-Table LAMP, 2x_60W") == ["oak", "table", "lamp", "2x", "60w"])
  }
}
