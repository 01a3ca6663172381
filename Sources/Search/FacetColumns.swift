import Bitmaps
import FunnelCore
import IndexFormat
import Synchronization

/// Per-document values of one keyword field (`brand`, `tag`, `attr.NAME`) of one generation, turned
/// around from the keyword bitmaps (value -> docs) into doc -> value ordinals, so counting a facet
/// over n matches costs O(n) whatever the number of values. Compressed rows: `values[starts[d]
/// ..< starts[d + 1]]` are doc `d`'s value ordinals, positions in `KeywordIndex.keyRange(of:)`.
/// Memory: 4 bytes per doc plus 4 per (doc, value). Immutable; safe to share.
public struct FacetColumn: Sendable {
  /// The field's first key in the keyword index; ordinal `v` is key `firstKey + v`.
  public let firstKey: Int
  /// Number of distinct values.
  public let valueCount: Int
  /// `values[starts[d] ..< starts[d + 1]]` are doc `d`'s value ordinals (empty when `single`).
  public let starts: [UInt32]
  public let values: [UInt32]
  /// When no doc has two values (a brand): each doc's one ordinal, `UInt32.max` for none, so a
  /// count reads one array instead of two (the reads miss the cache on a large catalog).
  public let single: [UInt32]?

  /// Builds the column of `field` from `keywords` for `documentCount` docs. O(docs + postings).
  /// Throws if a stored bitmap is corrupt.
  public init(field: String, keywords: KeywordIndex, documentCount: Int) throws {
    let range = keywords.keyRange(of: field)
    firstKey = range.lowerBound
    valueCount = range.count
    let bitmaps = try range.map { try keywords.documents(at: $0) }
    var counts = [UInt32](repeating: 0, count: documentCount + 1)
    for bitmap in bitmaps {
      bitmap.forEach { doc in if Int(doc) < documentCount { counts[Int(doc) + 1] += 1 } }
    }
    if counts.allSatisfy({ $0 <= 1 }) {
      var single = [UInt32](repeating: .max, count: documentCount)
      for (ordinal, bitmap) in bitmaps.enumerated() {
        bitmap.forEach { doc in if Int(doc) < documentCount { single[Int(doc)] = UInt32(ordinal) } }
      }
      self.single = single
      self.starts = []
      self.values = []
      return
    }
    single = nil
    for d in 0..<documentCount { counts[d + 1] += counts[d] }
    var next = counts
    var values = [UInt32](repeating: 0, count: Int(counts[documentCount]))
    for (ordinal, bitmap) in bitmaps.enumerated() {
      bitmap.forEach { doc in
        guard Int(doc) < documentCount else { return }
        values[Int(next[Int(doc)])] = UInt32(ordinal)
        next[Int(doc)] += 1
      }
    }
    self.starts = counts
    self.values = values
  }
}

/// The facet columns built so far, for the generations being served: a column is built the first
/// time a search asks for its facet in a generation and kept while that generation (or the one
/// before it) serves. Thread-safe; one per engine. Two searches that miss at once both build.
public final class FacetColumnCache: Sendable {
  private struct Key: Hashable { var version: String; var field: String }
  private let state = Mutex<(order: [String], columns: [Key: FacetColumn])>(([], [:]))

  /// An empty cache.
  public init() {}

  /// The column of `field` in `generation`, built on first use.
  public func column(_ field: String, in generation: IndexGeneration) throws -> FacetColumn {
    let key = Key(version: generation.version, field: field)
    if let hit = state.withLock({ $0.columns[key] }) { return hit }
    let built = try FacetColumn(field: field, keywords: generation.keywords, documentCount: generation.items.count)
    state.withLock { state in
      if !state.order.contains(key.version) {
        state.order.append(key.version)
        // The serving generation and the one before it (searches still finishing on it).
        while state.order.count > 2 {
          let old = state.order.removeFirst()
          state.columns = state.columns.filter { $0.key.version != old }
        }
      }
      state.columns[key] = built
    }
    return built
  }
}
