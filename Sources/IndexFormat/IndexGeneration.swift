import Foundation
import FunnelCore
import MappedStorage
import TextAnalysis

/// One immutable index generation: the catalog with dense doc ids and every recall structure, read
/// in place from its files (memory-mapped from a directory, or in-memory images for the embedded
/// default). Opening validates structure in O(items) and never parses postings or bitmaps.
///
/// Serving holds one generation at a time and swaps to a new one atomically on reload; a request
/// keeps the generation it started with. Immutable; safe to share across threads.
public final class IndexGeneration: Sendable {
  /// File names inside a generation directory, in the order they are opened.
  public static let fileNames = ["items.fnl", "text.fnl", "keywords.fnl", "neighbours.fnl", "popularity.fnl"]

  public let manifest: GenerationManifest
  public let items: ItemTable
  public let text: TextIndex
  /// How the text file was analysed (from the manifest): queries go through the same chain.
  public let analyzer: TextAnalyzer
  /// Search synonyms built with the generation (`SynonymMap.none` without a synonyms file).
  public let synonyms: SynonymMap
  /// The field weights of the text file (items the live catalog adds are weighted the same).
  public let searchFields: SearchFields
  public let keywords: KeywordIndex
  public let neighbours: NeighbourTable
  public let popularity: PopularityTable
  /// Item embeddings and their HNSW graph, when the catalog has embeddings.
  public let vectors: VectorIndex?
  /// Numeric attribute columns, when some item has a numeric attribute.
  public let attributes: AttributeColumns?
  /// Catalog phrases for autocomplete (generations built before it have none).
  public let suggestions: SuggestionTable?
  /// Swing item-to-item neighbours (pairs bought together by otherwise dissimilar users).
  public let swing: NeighbourTable?
  /// Session co-occurrence neighbours (items in the same visit, decayed by the time between them).
  public let sessions: NeighbourTable?
  /// Learned item factors (matrix factorisation) as an inner-product HNSW index: each stored vector
  /// is the item's factors shrunk by `users.itemScale` with one coordinate appended that brings
  /// every vector to unit length, so the cosine of a query `[u, 0]` orders items by `u . v`.
  public let factors: VectorIndex?
  /// Per-user factors and user-based CF lists (`UserTable`).
  public let users: UserTable?
  /// Files a generation may or may not have.
  public static let optionalFileNames = [VectorIndex.fileName, AttributeColumns.fileName, SynonymMap.fileName,
                                         SuggestionTable.fileName, swingFileName, sessionsFileName, factorsFileName,
                                         UserTable.fileName]
  /// The Swing neighbours file (`NeighbourTable` format).
  public static let swingFileName = "swing.fnl"
  /// The session co-occurrence neighbours file (`NeighbourTable` format).
  public static let sessionsFileName = "sessions.fnl"
  /// The learned item factors file (`VectorIndex` format).
  public static let factorsFileName = "factors.fnl"

  /// Opens a generation from its file regions. Throws `.failedPrecondition` naming the file at fault.
  public init(manifest: GenerationManifest, regions: [String: ByteRegion], verifyChecksums: Bool) throws {
    guard manifest.formatVersion == GenerationManifest.currentFormatVersion else {
      throw FunnelError(.failedPrecondition,
                        "generation \(manifest.version): format \(manifest.formatVersion) is not supported (expected \(GenerationManifest.currentFormatVersion))")
    }
    func region(_ name: String) throws -> ByteRegion {
      guard let r = regions[name] else { throw FunnelError(.failedPrecondition, "generation \(manifest.version): \(name) is missing") }
      if let entry = manifest.files.first(where: { $0.name == name }), entry.bytes != r.count {
        throw FunnelError(.failedPrecondition, "\(r.path): \(r.count) bytes, the manifest says \(entry.bytes) (truncated?)")
      }
      return r
    }
    let items = try ItemTable(region("items.fnl"), verifyChecksum: verifyChecksums)
    guard items.count == manifest.itemCount else {
      throw FunnelError(.failedPrecondition, "generation \(manifest.version): \(items.count) items, the manifest says \(manifest.itemCount)")
    }
    self.manifest = manifest
    self.items = items
    do {
      analyzer = try TextAnalyzer(named: manifest.textAnalysis ?? "plain")
    } catch let error as TextAnalysisError {
      throw FunnelError(.failedPrecondition, "generation \(manifest.version): \(error.message)")
    }
    do {
      searchFields = try manifest.searchFields.map { try SearchFields(parsing: $0) } ?? .uniform
    } catch let error as FunnelError {
      throw FunnelError(.failedPrecondition, "generation \(manifest.version): \(error.message)")
    }
    text = try TextIndex(region("text.fnl"), documentCount: items.count, verifyChecksum: verifyChecksums)
    if let entry = manifest.files.first(where: { $0.name == SynonymMap.fileName }) {
      let r = try region(SynonymMap.fileName)
      let bytes = try r.withBytes(offset: 0, length: r.count) { Array($0) }
      if verifyChecksums, CRC32C.checksum(bytes) != entry.crc32c {
        throw FunnelError(.failedPrecondition, "\(r.path): CRC-32C does not match the manifest")
      }
      do {
        synonyms = try SynonymMap(parsing: String(decoding: bytes, as: UTF8.self), analyzer: analyzer)
      } catch let error as TextAnalysisError {
        throw FunnelError(.failedPrecondition, "\(r.path): \(error.message)")
      }
    } else {
      synonyms = .none
    }
    keywords = try KeywordIndex(region("keywords.fnl"), verifyChecksum: verifyChecksums)
    neighbours = try NeighbourTable(region("neighbours.fnl"), documentCount: items.count, verifyChecksum: verifyChecksums)
    popularity = try PopularityTable(region("popularity.fnl"), documentCount: items.count,
                                     categoryCount: items.categoryKeys.count, verifyChecksum: verifyChecksums)
    func has(_ name: String) -> Bool { manifest.files.contains { $0.name == name } }
    vectors = has(VectorIndex.fileName)
      ? try VectorIndex(region(VectorIndex.fileName), documentCount: items.count, verifyChecksum: verifyChecksums) : nil
    attributes = has(AttributeColumns.fileName)
      ? try AttributeColumns(region(AttributeColumns.fileName), documentCount: items.count, verifyChecksum: verifyChecksums) : nil
    suggestions = has(SuggestionTable.fileName)
      ? try SuggestionTable(region(SuggestionTable.fileName), categoryCount: items.categoryKeys.count, verifyChecksum: verifyChecksums)
      : nil
    swing = has(Self.swingFileName)
      ? try NeighbourTable(region(Self.swingFileName), documentCount: items.count, verifyChecksum: verifyChecksums) : nil
    sessions = has(Self.sessionsFileName)
      ? try NeighbourTable(region(Self.sessionsFileName), documentCount: items.count, verifyChecksum: verifyChecksums) : nil
    factors = has(Self.factorsFileName)
      ? try VectorIndex(region(Self.factorsFileName), documentCount: items.count, verifyChecksum: verifyChecksums) : nil
    users = has(UserTable.fileName)
      ? try UserTable(region(UserTable.fileName), documentCount: items.count, verifyChecksum: verifyChecksums) : nil
    if let factors, let users, users.dimension + 1 != factors.dimension {
      throw FunnelError(.failedPrecondition, "generation \(manifest.version): user factors have \(users.dimension) dimensions, "
                        + "item factors \(factors.dimension - 1)")
    }
  }

  private init(_ base: IndexGeneration, items: ItemTable) {
    manifest = base.manifest
    self.items = items
    text = base.text
    analyzer = base.analyzer
    synonyms = base.synonyms
    searchFields = base.searchFields
    keywords = base.keywords
    neighbours = base.neighbours
    popularity = base.popularity
    vectors = base.vectors
    attributes = base.attributes
    suggestions = base.suggestions
    swing = base.swing
    sessions = base.sessions
    factors = base.factors
    users = base.users
  }

  /// This generation with `changes` (in feed order, up to feed position `through`) laid over its
  /// catalog (`CatalogOverlay`); the mapped files are shared. Replaces any overlay this one has.
  /// O(changes + the added items' text).
  public func overlaid(with changes: [CatalogChange], through: String) -> IndexGeneration {
    let mapped = items.overlaid(with: nil)
    return IndexGeneration(self, items: mapped.overlaid(with: changes.isEmpty ? nil : CatalogOverlay(changes, over: mapped, through: through,
                                                                                                      analyzer: analyzer, fields: searchFields)))
  }

  /// Live catalog changes over the mapped catalog, nil when serving the generation as built.
  public var overlay: CatalogOverlay? { items.overlay }

  /// Maps the generation in `directory` (which holds `manifest.json` and the files).
  public static func open(directory: String, verifyChecksums: Bool = false) throws -> IndexGeneration {
    let manifestPath = directory + "/manifest.json"
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
    } catch {
      throw FunnelError(.notFound, "\(manifestPath): cannot read the manifest (\(error.localizedDescription))")
    }
    let manifest: GenerationManifest
    do {
      manifest = try JSONDecoder().decode(GenerationManifest.self, from: data)
    } catch {
      throw FunnelError(.failedPrecondition, "\(manifestPath): not a generation manifest (\(error))")
    }
    var regions: [String: ByteRegion] = [:]
    let optional = optionalFileNames.filter { name in manifest.files.contains { $0.name == name } }
    for name in fileNames + optional { regions[name] = try ByteRegion(mapping: directory + "/" + name) }
    return try IndexGeneration(manifest: manifest, regions: regions, verifyChecksums: verifyChecksums)
  }

  /// The generation's name.
  public var version: String { manifest.version }
  /// Number of items.
  public var itemCount: Int { items.count }

  /// Every prefix of a category path joined with `/`: `["home", "home/lighting", "home/lighting/lamps"]`.
  public static func categoryPrefixes(_ path: [String]) -> [String] {
    var result: [String] = []
    var current = ""
    for part in path {
      current = current.isEmpty ? part : current + "/" + part
      result.append(current)
    }
    return result
  }
}
