import FunnelCore
import IndexFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds an in-memory `IndexGeneration` from a catalog and a behaviour history.
///
/// Popularity is the sum of event interest weights decayed with a half-life; item-to-item
/// neighbours are ItemCF co-occurrence in users' recent histories, down-weighting very active users
/// (1 / log(2 + history length)) and normalised by the geometric mean of the two items'
/// popularities (cosine), so bestsellers do not become everybody's neighbour.
/// Cost: O(events + users * window^2 + items * log items).
public struct GenerationBuilder: Sendable {
  /// Tuning of the build.
  public struct Options: Hashable, Sendable {
    /// Half-life of an event's weight in popularity, in hours.
    public var popularityHalfLifeHours: Double = 72
    /// Neighbours kept per item.
    public var neighboursPerItem: Int = 50
    /// Most recent distinct items per user that form co-occurrence pairs.
    public var historyWindow: Int = 30
    /// Entries kept per category popularity list.
    public var categoryListLength: Int = 500
    /// Entries kept in the global popularity list.
    public var popularListLength: Int = 2_000

    /// The defaults above.
    public init() {}
  }

  /// Build options.
  public var options: Options

  /// A builder with `options`.
  public init(options: Options = Options()) { self.options = options }

  /// Builds a generation named `version` as of `nowMs` (Unix ms). Events about unknown items are
  /// skipped (they are counted in the return value's second element).
  public func build(items: [CatalogItem], events: [BehaviourEvent], nowMs: Int64,
                    version: String) -> (IndexGeneration, skippedEvents: Int) {
    var docByID: [ItemID: DocID] = [:]
    docByID.reserveCapacity(items.count)
    for (i, item) in items.enumerated() { docByID[item.id] = DocID(i) }

    var popularity = [Float](repeating: 0, count: items.count)
    var histories: [UserID: [(DocID, Float)]] = [:]
    var skipped = 0
    let decayPerMs = log(2) / (options.popularityHalfLifeHours * 3_600_000)
    for event in events {
      guard let doc = docByID[event.itemID] else { skipped += 1; continue }
      let weight = event.kind.interestWeight
      guard weight > 0 else { continue }
      let age = Double(max(0, nowMs - event.timestampMs))
      let decayed = weight * Float(exp(-decayPerMs * age))
      popularity[doc.index] += decayed
      histories[event.userID, default: []].append((doc, decayed))
    }

    let popular = RankedList(scored: popularity.enumerated().map { (DocID($0.offset), $0.element) },
                             limit: options.popularListLength)
    var byCategory: [String: [(DocID, Float)]] = [:]
    for (i, item) in items.enumerated() where popularity[i] > 0 {
      for prefix in IndexGeneration.categoryPrefixes(item.categoryPath) {
        byCategory[prefix, default: []].append((DocID(i), popularity[i]))
      }
    }
    let popularByCategory = byCategory.mapValues { RankedList(scored: $0, limit: options.categoryListLength) }
    let neighbours = cooccurrence(histories: histories, itemCount: items.count, popularity: popularity)
    let terms = TermIndex(texts: items.map { item in
      ([item.title, item.brand] + item.categoryPath + item.tags).joined(separator: " ")
    })
    let topPopularity = max(popularity.max() ?? 0, .leastNormalMagnitude)
    let generation = IndexGeneration(
      version: version, items: items, popular: popular, itemPopularity: popularity.map { $0 / topPopularity },
      popularByCategory: popularByCategory,
      neighbours: neighbours, terms: terms, builtAtMs: nowMs)
    return (generation, skipped)
  }

  private func cooccurrence(histories: [UserID: [(DocID, Float)]], itemCount: Int,
                            popularity: [Float]) -> NeighbourLists {
    var pairs = [[DocID: Float]](repeating: [:], count: itemCount)
    var occurrence = [Float](repeating: 0, count: itemCount)
    for (_, history) in histories {
      // Distinct items, most recent window, each with its strongest (decayed) signal.
      var strength: [DocID: Float] = [:]
      for (doc, w) in history.suffix(options.historyWindow * 4) { strength[doc] = max(strength[doc] ?? 0, w) }
      let window = strength.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        .prefix(options.historyWindow)
      guard window.count > 1 else { continue }
      let userWeight = Float(1 / log(2 + Double(window.count)))
      for (a, _) in window { occurrence[a.index] += 1 }
      for (a, _) in window {
        for (b, _) in window where a != b { pairs[a.index][b, default: 0] += userWeight }
      }
    }
    let rows: [[(DocID, Float)]] = (0..<itemCount).map { a in
      var row = pairs[a].map { (b, w) -> (DocID, Float) in
        (b, w / (occurrence[a] * occurrence[b.index]).squareRoot())
      }
      row.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
      let kept = row.prefix(options.neighboursPerItem)
      let top = kept.first?.1 ?? 1
      return kept.map { ($0.0, min(1, $0.1 / top)) }
    }
    return NeighbourLists(rows: rows)
  }
}
