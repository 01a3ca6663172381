import FunnelCore
import IndexFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds the files of an index generation from a catalog and a behaviour history.
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
    /// Half-life of an event's weight in the trending lists, in hours.
    public var trendingHalfLifeHours: Double = 12
    /// Neighbours kept per item.
    public var neighboursPerItem: Int = 50
    /// Most recent distinct items per user that form co-occurrence pairs.
    public var historyWindow: Int = 30
    /// Entries kept per category popularity list.
    public var categoryListLength: Int = 500
    /// Entries kept in the global popularity list.
    public var popularListLength: Int = 2_000
    /// HNSW links per node (2x on the bottom level) and build beam width.
    public var hnswM: Int = 16
    public var hnswEfConstruction: Int = 100
    /// Whether to build the vectors file when the catalog has embeddings.
    public var buildVectors = true

    /// The defaults above.
    public init() {}
  }

  /// Build options.
  public var options: Options

  /// A builder with `options`.
  public init(options: Options = Options()) { self.options = options }

  /// Builds the files of a generation named `version` as of `nowMs` (Unix ms). Events about unknown
  /// items are skipped and counted in the manifest. `sources` are recorded in the manifest.
  /// Precondition: item ids are unique (readers check this first).
  public func build(items: [CatalogItem], events: [BehaviourEvent], nowMs: Int64, version: String,
                    sources: [GenerationManifest.SourceEntry] = []) -> BuiltGeneration {
    var docByID: [ItemID: DocID] = [:]
    docByID.reserveCapacity(items.count)
    for (i, item) in items.enumerated() { docByID[item.id] = DocID(i) }

    var popularity = [Float](repeating: 0, count: items.count)
    var trend = [Float](repeating: 0, count: items.count)
    let trendDecayPerMs = log(2) / (options.trendingHalfLifeHours * 3_600_000)
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
      trend[doc.index] += weight * Float(exp(-trendDecayPerMs * age))
      histories[event.userID, default: []].append((doc, decayed))
    }

    // Category keys in the items file's order (UTF-8 sorted), one popularity list each.
    let keys = StringColumn.utf8Sorted(Set(items.flatMap { IndexGeneration.categoryPrefixes($0.categoryPath) }))
    let keyIndex = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, $0.offset) })
    var byCategory = [[(DocID, Float)]](repeating: [], count: keys.count)
    for (i, item) in items.enumerated() where popularity[i] > 0 {
      for prefix in IndexGeneration.categoryPrefixes(item.categoryPath) {
        byCategory[keyIndex[prefix]!].append((DocID(i), popularity[i]))
      }
    }
    let global = Self.ranked(popularity.enumerated().map { (DocID($0.offset), $0.element) }, limit: options.popularListLength)
    let lists = [global] + byCategory.map { Self.ranked($0, limit: options.categoryListLength) }
    var trendByCategory = [[(DocID, Float)]](repeating: [], count: keys.count)
    for (i, item) in items.enumerated() where trend[i] > 0 {
      for prefix in IndexGeneration.categoryPrefixes(item.categoryPath) { trendByCategory[keyIndex[prefix]!].append((DocID(i), trend[i])) }
    }
    let trending = [Self.ranked(trend.enumerated().map { (DocID($0.offset), $0.element) }, limit: options.categoryListLength)]
      + trendByCategory.map { Self.ranked($0, limit: options.categoryListLength / 2) }
    let top = max(popularity.max() ?? 0, .leastNormalMagnitude)
    let rows = cooccurrence(histories: histories, itemCount: items.count, popularity: popularity)

    let text = TextIndex.write(texts: items.map { item in
      ([item.title, item.brand] + item.categoryPath + item.tags).joined(separator: " ")
    })
    let keywords = KeywordIndex.write(items)
    var images: [String: [UInt8]] = [
      "items.fnl": ItemTable.write(items),
      "text.fnl": text.bytes,
      "keywords.fnl": keywords.bytes,
      "neighbours.fnl": NeighbourTable.write(rows: rows),
      "popularity.fnl": PopularityTable.write(itemPopularity: popularity.map { $0 / top }, lists: lists, trending: trending),
    ]
    // Vectors and their HNSW graph, when every item has an embedding of one dimension.
    if options.buildVectors, let dimension = items.first?.embedding.count, dimension > 0,
       items.allSatisfy({ $0.embedding.count == dimension }) {
      var hnsw = HNSWBuilder(dimension: dimension, m: options.hnswM, efConstruction: options.hnswEfConstruction)
      hnsw.build(items.map(\.embedding))
      images[VectorIndex.fileName] = hnsw.file()
    }
    images[AttributeColumns.fileName] = AttributeColumns.write(items)
    let fileNames = IndexGeneration.fileNames + IndexGeneration.optionalFileNames.filter { images[$0] != nil }
    let manifest = GenerationManifest(
      formatVersion: GenerationManifest.currentFormatVersion, version: version, builtAtMs: nowMs,
      itemCount: items.count, eventCount: events.count, skippedEvents: skipped,
      termCount: text.terms, keywordCount: keywords.keys, categoryCount: keys.count, neighbourCount: rows.reduce(0) { $0 + $1.count },
      files: fileNames.map { name in
        GenerationManifest.FileEntry(name: name, bytes: images[name]!.count, crc32c: CRC32C.checksum(images[name]!))
      },
      sources: sources)
    return BuiltGeneration(manifest: manifest, images: images)
  }

  /// Sorts descending (ties by doc id, so builds are deterministic), keeps `limit`, scales the best to 1.
  static func ranked(_ scored: [(DocID, Float)], limit: Int) -> [(DocID, Float)] {
    let sorted = scored.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(limit)
    let top = sorted.first?.1 ?? 1
    return sorted.map { ($0.0, $0.1 / top) }
  }

  /// ItemCF rows without materialising item pairs: each user's window (their `historyWindow`
  /// strongest distinct items) goes into a user -> items table and its transpose; then, item by item,
  /// the windows of the item's users are summed into one dense accumulator, normalised, cut to the
  /// top `neighboursPerItem` and the accumulator cleared. Memory O(items + window entries) instead of
  /// O(distinct pairs); time O(sum over users of window^2 + items * log neighbours). Users are taken
  /// in id order, so the float sums (and the build) are deterministic.
  private func cooccurrence(histories: [UserID: [(DocID, Float)]], itemCount: Int,
                            popularity: [Float]) -> [[(DocID, Float)]] {
    var windowStart: [Int] = [0]
    var windowItems: [UInt32] = []
    var userWeight: [Float] = []
    var occurrence = [Float](repeating: 0, count: itemCount)
    for user in histories.keys.sorted() {
      let history = histories[user]!
      // Distinct items, most recent window, each with its strongest (decayed) signal.
      var strength: [DocID: Float] = [:]
      for (doc, w) in history.suffix(options.historyWindow * 4) { strength[doc] = max(strength[doc] ?? 0, w) }
      let window = strength.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        .prefix(options.historyWindow)
      guard window.count > 1 else { continue }
      for (doc, _) in window {
        windowItems.append(doc.rawValue)
        occurrence[doc.index] += 1
      }
      windowStart.append(windowItems.count)
      userWeight.append(Float(1 / log(2 + Double(window.count))))
    }
    // The transpose: for each item, the users whose window holds it.
    var usersStart = [Int](repeating: 0, count: itemCount + 1)
    for doc in windowItems { usersStart[Int(doc) + 1] += 1 }
    for i in 0..<itemCount { usersStart[i + 1] += usersStart[i] }
    var usersOf = [UInt32](repeating: 0, count: windowItems.count)
    var fill = usersStart
    for u in 0..<userWeight.count {
      for k in windowStart[u]..<windowStart[u + 1] {
        let doc = Int(windowItems[k])
        usersOf[fill[doc]] = UInt32(u)
        fill[doc] += 1
      }
    }
    var accumulator = [Float](repeating: 0, count: itemCount)
    var touched: [UInt32] = []
    var rows: [[(DocID, Float)]] = []
    rows.reserveCapacity(itemCount)
    for a in 0..<itemCount {
      for k in usersStart[a]..<usersStart[a + 1] {
        let u = Int(usersOf[k])
        let w = userWeight[u]
        for j in windowStart[u]..<windowStart[u + 1] {
          let b = Int(windowItems[j])
          guard b != a else { continue }
          if accumulator[b] == 0 { touched.append(UInt32(b)) }
          accumulator[b] += w
        }
      }
      var best = TopK(capacity: options.neighboursPerItem)
      for b in touched {
        best.offer(DocID(rawValue: b), accumulator[Int(b)] / (occurrence[a] * occurrence[Int(b)]).squareRoot())
        accumulator[Int(b)] = 0
      }
      touched.removeAll(keepingCapacity: true)
      let kept = best.sortedDescending()
      let top = kept.first?.1 ?? 1
      rows.append(kept.map { ($0.0, min(1, $0.1 / top)) })
    }
    return rows
  }
}
