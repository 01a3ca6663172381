import FunnelCore

/// One immutable index generation: the catalog with dense doc ids and every recall structure built
/// from it. Serving holds one generation at a time and swaps to a new one atomically on reload.
///
/// Immutable after construction; safe to share across threads. Built by `IndexBuilder`.
public final class IndexGeneration: Sendable {
  /// Identifies the generation in answers and logs, e.g. `embedded-20261122T004200Z-1`.
  public let version: String
  /// Items by doc id.
  public let items: [CatalogItem]
  /// External id -> doc id.
  public let docByItemID: [ItemID: DocID]
  /// All documents by time-decayed popularity.
  public let popular: RankedList
  /// Time-decayed popularity of every document, scaled so the most popular is 1; indexed by doc id.
  public let itemPopularity: [Float]
  /// Category path prefixes of every document (`home`, `home/lighting`, ...), indexed by doc id, so
  /// the hot path never joins strings.
  public let categoryKeys: [[String]]
  /// Popular documents per category path prefix: `home`, `home/lighting`, `home/lighting/lamps`.
  public let popularByCategory: [String: RankedList]
  /// Item-to-item neighbours (co-occurrence in user histories).
  public let neighbours: NeighbourLists
  /// Text index over titles, categories, brands and tags.
  public let terms: TermIndex
  /// When the generation was built (Unix ms).
  public let builtAtMs: Int64

  /// Assembles a generation; `IndexBuilder` is the intended caller.
  /// Precondition: every per-document structure has `items.count` rows.
  public init(version: String, items: [CatalogItem], popular: RankedList, itemPopularity: [Float],
              popularByCategory: [String: RankedList], neighbours: NeighbourLists, terms: TermIndex,
              builtAtMs: Int64) {
    precondition(neighbours.documentCount == items.count, "neighbour table must have one row per item")
    precondition(terms.documentCount == items.count, "term index must have one document per item")
    precondition(itemPopularity.count == items.count, "popularity must have one value per item")
    self.version = version
    self.items = items
    var byID: [ItemID: DocID] = [:]
    byID.reserveCapacity(items.count)
    for (i, item) in items.enumerated() { byID[item.id] = DocID(i) }
    self.docByItemID = byID
    self.popular = popular
    self.itemPopularity = itemPopularity
    self.categoryKeys = items.map { Self.categoryPrefixes($0.categoryPath) }
    self.popularByCategory = popularByCategory
    self.neighbours = neighbours
    self.terms = terms
    self.builtAtMs = builtAtMs
  }

  /// Number of items.
  public var itemCount: Int { items.count }

  /// The item with doc id `doc`. Precondition: `doc` came from this generation.
  @inlinable public func item(_ doc: DocID) -> CatalogItem { items[doc.index] }

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
