import FunnelCore
import IndexFormat
import Recall

/// Stage 3, filtering: out of stock, the anchors, the request's exclusions, purchases on discovery
/// scenes and the request's filter; then a first phase where the plan has one (the best N matches by
/// text score go to the model). Stateless.
struct FilterStage: Sendable {
  func run(_ context: inout RequestContext) {
    let watch = Stopwatch()
    let items = context.generation.items
    var dropped = Set(context.anchors).union(context.request.excluded.compactMap { items.doc(for: $0) })
    if context.plan.dropsPurchases {
      for (doc, facts) in context.profile.interacted where facts.purchased { dropped.insert(doc) }
    }
    let filter = context.filter
    let recalled = context.candidates.count
    // A sorted array searched by halving: the few dropped documents, looked up once per candidate,
    // without hashing each candidate's id.
    let droppedDocs = dropped.map(\.rawValue).sorted()
    context.candidates.removeAll { candidate in
      !items.inStock(candidate.doc) || Self.contains(droppedDocs, candidate.doc.rawValue) || !(filter?.matches(candidate.doc) ?? true)
    }
    context.dropped = dropped
    context.debug.filteredCandidates = recalled - context.candidates.count
    context.modelRanked = Self.firstPhase(&context.candidates, keep: context.plan.firstPhase)
    context.timed("filter", since: watch)
  }

  /// Whether sorted `docs` holds `doc`: a binary search, written out (the generic
  /// `partitioningIndex` called its predicate through a closure on every step). O(log n).
  @inline(__always) static func contains(_ docs: [UInt32], _ doc: UInt32) -> Bool {
    docs.withUnsafeBufferPointer { d in
      var (low, high) = (0, d.count)
      while low < high {
        let mid = (low &+ high) >> 1
        if d[mid] < doc { low = mid &+ 1 } else { high = mid }
      }
      return low < d.count && d[low] == doc
    }
  }

  /// A first phase: orders `matches` by text score (best first, ties by document) and returns how
  /// many from the front the model ranks: `keep`, or all of them when `keep` is 0 or more than there
  /// are. Sorting costs O(n log n) in the matches (n <= the text quota), a sliver of scoring them.
  static func firstPhase(_ matches: inout [Candidate], keep: Int) -> Int {
    guard keep > 0, matches.count > keep else { return matches.count }
    matches.sort { $0.textScore != $1.textScore ? $0.textScore > $1.textScore : $0.doc < $1.doc }
    return keep
  }
}
