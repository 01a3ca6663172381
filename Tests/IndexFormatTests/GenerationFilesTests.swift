import DemoCatalog
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import MappedStorage
import Testing

@Suite struct GenerationFilesTests {
  static let store = DemoStore(.small())

  static func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "funnel-gen-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test func writesOpensAndRoundTripsStoredFields() throws {
    let root = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let built = GenerationBuilder().build(items: Self.store.items, events: Self.store.events, nowMs: 1_790_000_000_000,
                                          version: GenerationDirectory.newName(nowMs: 1_790_000_000_000))
    let path = try built.write(under: root)
    #expect(GenerationDirectory.newest(under: root) == path)
    let g = try IndexGeneration.open(directory: path, verifyChecksums: true)
    #expect(g.itemCount == Self.store.items.count && g.manifest == built.manifest)
    #expect(g.vectors?.dimension == DemoStore.embeddingDimension, "the demo catalog has embeddings")
    for (d, item) in Self.store.items.enumerated() {
      var stored = item
      stored.embedding = []  // embeddings live in the vectors file
      #expect(g.items.item(DocID(d)) == stored)
      #expect(g.items.doc(for: item.id) == DocID(d))
    }
    #expect(g.items.doc(for: "no-such-id") == nil)
    let keys = (0..<g.items.categoryKeys.count).map { g.items.categoryKeys[$0] }
    #expect(keys == StringColumn.utf8Sorted(keys) && keys.contains("kitchen/coffee"))
    // Keyword postings equal a scan of the catalog.
    let brand = Self.store.items[0].brand
    let expected = Self.store.items.enumerated().filter { $0.element.brand == brand }.map { UInt32($0.offset) }
    #expect(try g.keywords.documents("brand", brand).values == expected)
    #expect(try g.keywords.documents("brand", "nope").count == 0)
    #expect(throws: FunnelError.self) { try built.write(under: root) }
  }

  /// Corruption anywhere is refused with a message naming the file; truncation even without checksums.
  @Test(arguments: IndexGeneration.fileNames)
  func refusesCorruptOrTruncatedFiles(name: String) throws {
    let root = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let path = try GenerationBuilder().build(items: Self.store.items, events: Self.store.events,
                                             nowMs: 1_790_000_000_000, version: "gen-test").write(under: root)
    let file = path + "/" + name
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[bytes.count / 2] ^= 0x5A
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    let flipped = #expect(throws: FunnelError.self) { try IndexGeneration.open(directory: path, verifyChecksums: true) }
    #expect(flipped?.message.contains(name) == true, "\(flipped?.message ?? "")")

    try Data(bytes.prefix(bytes.count - 40)).write(to: URL(fileURLWithPath: file))
    let truncated = #expect(throws: FunnelError.self) { try IndexGeneration.open(directory: path, verifyChecksums: false) }
    #expect(truncated?.message.contains(name) == true, "\(truncated?.message ?? "")")
  }

  /// An item table whose string columns were spooled to temporary files is the same file as one
  /// kept in memory, written to disk or laid out in memory.
  @Test func spooledItemTableIsTheSameFile() throws {
    var inMemory = ItemTable.Writer(), spooled = ItemTable.Writer(spooled: true)
    for item in DemoStore(.small()).items {
      #expect(inMemory.add(item) == spooled.add(item))
    }
    let expected = inMemory.finish().bytes
    #expect(try spooled.finish().contents() == expected)
    let path = NSTemporaryDirectory() + "funnel-spooled-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let written = try spooled.finish().write(to: path)
    let onDisk = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(written.bytes == expected.count && onDisk == expected)
  }

  @Test func missingManifestOrFileIsAClearError() throws {
    let root = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let error = #expect(throws: FunnelError.self) { try IndexGeneration.open(directory: root) }
    #expect(error?.message.contains("manifest.json") == true)
    let path = try GenerationBuilder().build(items: Self.store.items, events: [], nowMs: 0, version: "gen-a").write(under: root)
    try FileManager.default.removeItem(atPath: path + "/text.fnl")
    let missing = #expect(throws: FunnelError.self) { try IndexGeneration.open(directory: path) }
    #expect(missing?.message.contains("text.fnl") == true)
  }

  @Test func pruneKeepsTheNewest() throws {
    let root = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    for name in ["gen-1", "gen-2", "gen-3"] {
      _ = try GenerationBuilder().build(items: Array(Self.store.items.prefix(3)), events: [], nowMs: 0, version: name).write(under: root)
    }
    #expect(try GenerationDirectory.prune(under: root, keep: 2) == ["gen-1"])
    #expect(GenerationDirectory.generations(under: root) == ["gen-2", "gen-3"])
  }
}

/// Format 1 text files (before block maxima) must keep opening and scoring: rebuild one from a
/// format 2 file's first seven sections with a version 1 footer.
@Suite struct TextFormatCompatibilityTests {
  @Test func formatOneTextFilesStillOpenWithoutBlocks() throws {
    let store = DemoStore(.small())
    let built = GenerationBuilder().build(items: store.items, events: [], nowMs: 0, version: "compat")
    let v2 = try SectionedFile(ByteRegion(copying: built.images["text.fnl"]!, name: "text.fnl"), kind: "TEXT",
                               versions: 2...2, verifyChecksum: true)
    var writer = SectionedFileWriter()
    for i in 0..<7 {
      let (offset, length) = v2.range(i)
      writer.add(bytes: try v2.region.withBytes(offset: offset, length: length) { Array($0) })
    }
    let v1 = try TextIndex(ByteRegion(copying: writer.finish(kind: "TEXT", formatVersion: 1), name: "text-v1.fnl"),
                           documentCount: store.items.count, verifyChecksum: true)
    #expect(v1.blocks == nil)
    let current = try built.open().text
    #expect(current.blocks != nil)
    #expect(v1.terms.count == current.terms.count && v1.averageLength == current.averageLength)
    let mug = try #require(v1.termID("mug"))
    var docs: [DocID] = []
    v1.forEachPosting(mug) { doc, _ in docs.append(doc) }
    var expected: [DocID] = []
    current.forEachPosting(try #require(current.termID("mug"))) { doc, _ in expected.append(doc) }
    #expect(docs == expected && !docs.isEmpty)
    let future = #expect(throws: FunnelError.self) {
      try TextIndex(ByteRegion(copying: writer.finish(kind: "TEXT", formatVersion: 3), name: "text-v3.fnl"),
                    documentCount: store.items.count, verifyChecksum: true)
    }
    #expect(future?.message.contains("format version 3 is not supported") == true)
  }
}
