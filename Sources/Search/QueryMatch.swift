import Bitmaps
import FunnelCore
import IndexFormat

/// The documents a search matches: those with every word of the query, a word being matched by
/// any of its alternatives (its synonyms). When no document has every word, the rarest word (the
/// one fewest documents have; a word no document has goes first) is dropped and the rest tried
/// again, until one word is left (relaxation); the answer says which words were dropped.
///
/// Built from the postings of the words' terms as Roaring bitmaps, so facets, totals and sorted
/// pages work on one set. O(postings of the terms) to decode, then bitmap intersections.
/// Immutable once made; safe to share.
public struct QueryMatch: Sendable {
  /// Documents with every word that was kept.
  public let documents: RoaringBitmap
  /// Indexes (into the groups given) of the words dropped to find any match, rarest first.
  public let dropped: [Int]

  /// The match of `groups` (one array of alternative terms per query word) in `index`.
  /// Words whose terms are all absent have no documents; an empty `groups` matches nothing.
  public init(groups: [[String]], index: TextIndex) {
    let sets = groups.map { Self.documents(of: $0, in: index) }
    var kept = Array(sets.indices)
    var dropped: [Int] = []
    while true {
      // Rarest first: intersecting from the smallest set keeps every intermediate small.
      kept.sort { sets[$0].count != sets[$1].count ? sets[$0].count < sets[$1].count : $0 < $1 }
      let all = Self.intersection(kept.map { sets[$0] })
      if !all.isEmptySet || kept.count <= 1 {
        self.documents = all
        break
      }
      dropped.append(kept.removeFirst())
    }
    self.dropped = dropped
  }

  /// Documents containing any of `terms`.
  static func documents(of terms: [String], in index: TextIndex) -> RoaringBitmap {
    var docs: [UInt32] = []
    for term in Set(terms) {
      guard let id = index.termID(term) else { continue }
      docs.reserveCapacity(docs.count + index.documentFrequency(id))
      index.forEachPosting(id) { doc, _ in docs.append(doc.rawValue) }
    }
    return RoaringBitmap(docs)
  }

  private static func intersection(_ sets: [RoaringBitmap]) -> RoaringBitmap {
    guard var result = sets.first else { return RoaringBitmap() }
    for set in sets.dropFirst() {
      if result.isEmptySet { break }
      result = result.intersection(set)
    }
    return result
  }
}
