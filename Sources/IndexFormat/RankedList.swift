import FunnelCore

/// Documents in descending score order (a popularity list, a per-category top list).
///
/// Immutable after construction; safe to share across threads.
public struct RankedList: Sendable {
  /// Documents, best first.
  public let docs: [DocID]
  /// `scores[i]` belongs to `docs[i]`; non-increasing, normalised so the first is 1 (or empty).
  public let scores: [Float]

  /// Builds a list from unsorted `(doc, score)` pairs: sorts descending (ties by doc id, so the order is
  /// deterministic), keeps the first `limit`, and scales scores so the best is 1. O(n log n).
  public init(scored: [(DocID, Float)], limit: Int = .max) {
    let sorted = scored.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(limit)
    let top = sorted.first?.1 ?? 1
    docs = sorted.map(\.0)
    scores = sorted.map { $0.1 / top }
  }

  /// An empty list.
  public static let empty = RankedList(scored: [])

  /// Number of documents.
  public var count: Int { docs.count }
}

/// Top-K item-to-item neighbour lists for every document, stored compressed-sparse-row style: one
/// offsets array and two flat arrays, so a lookup is two array reads and no allocation.
public struct NeighbourLists: Sendable {
  /// `offsets[d] ..< offsets[d + 1]` is the range of document `d`'s neighbours. Count + 1 entries.
  public let offsets: [UInt32]
  /// Neighbour documents, best first within each row.
  public let neighbours: [DocID]
  /// Similarity in 0...1 of each neighbour.
  public let scores: [Float]

  /// Builds from one row per document (row `d` holds `d`'s neighbours, best first).
  public init(rows: [[(DocID, Float)]]) {
    var offsets: [UInt32] = [0]
    offsets.reserveCapacity(rows.count + 1)
    var neighbours: [DocID] = []
    var scores: [Float] = []
    for row in rows {
      for (doc, score) in row {
        neighbours.append(doc)
        scores.append(score)
      }
      offsets.append(UInt32(neighbours.count))
    }
    self.offsets = offsets
    self.neighbours = neighbours
    self.scores = scores
  }

  /// Number of documents with a row.
  public var documentCount: Int { offsets.count - 1 }

  /// The index range of `doc`'s row in `neighbours`/`scores`; empty for a doc outside the table.
  @inlinable public func row(_ doc: DocID) -> Range<Int> {
    guard doc.index < offsets.count - 1 else { return 0..<0 }
    return Int(offsets[doc.index])..<Int(offsets[doc.index + 1])
  }
}
