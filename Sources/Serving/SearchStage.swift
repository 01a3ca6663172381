import Bitmaps
import FunnelCore
import IndexFormat
import Recall
import Search
import TextAnalysis

/// The search-only part of recall: the query's words resolved against the dictionary (completed,
/// corrected, synonyms added), the match set (every word, relaxed by dropping the rarest until
/// something matches), the matches that may be shown (filter, stock, exclusions), their facets,
/// the categories the query is about, and for a keyed sort the page itself. Runs before the recall
/// channels, which then recall only from the match set. Thread-safe; one per engine.
struct SearchStage: Sendable {
  let facets: FacetCounter
  /// The numeric attribute `newest` sorts by.
  let newnessAttribute: String
  /// Told of each search that matched nothing.
  let zeroResults: QueryCounts
  /// Told of each search that found something as typed (autocomplete suggests them).
  let popular: QueryCounts

  /// What the stage found, kept in the request's context.
  struct Outcome {
    /// Terms the text channel scores (the words and their synonyms).
    var terms: [String] = []
    /// Documents with every kept word (what the text channel may recall).
    var matches = RoaringBitmap()
    /// Names the match set in the text cache's key.
    var matchKey = ""
    /// The matches that may be shown: filter, stock, exclusions applied.
    var shown = RoaringBitmap()
    var rewrite = QueryRewrite()
    var facets: [FacetResult] = []
    /// Predicted categories (leaf keys) and their share of the matches' popularity.
    var categories: [(leaf: UInt32, share: Float)] = []
    /// A keyed sort's page: (doc, oriented key), in order.
    var page: [(doc: UInt32, key: Double)] = []
  }

  /// Share of the matches' popularity a leaf category needs to count as what the query is about.
  static let categoryShare: Float = 0.2

  func run(_ context: inout RequestContext) throws {
    guard let options = context.request.search, !context.request.queryTerms.isEmpty else { return }
    let watch = Stopwatch()
    let generation = context.generation
    let spelled = QuerySpelling.resolve(
      tokens: context.request.queryTerms, analyzer: generation.analyzer, index: generation.text,
      synonyms: generation.synonyms, alsoKnown: { [overlay = generation.overlay] in overlay?.text?.termID($0) != nil })
    var outcome = Outcome()
    outcome.terms = spelled.terms
    let match = QueryMatch(groups: generation.synonyms.groups(spelled.words), index: generation.text)
    outcome.matches = match.documents
    // The words dropped name the match set whatever their order in the query (the cache's terms are a set too).
    outcome.matchKey = match.dropped.isEmpty ? "" : "\u{1F}-" + match.dropped.map { spelled.words[$0] }.sorted().joined(separator: ",")
    outcome.rewrite.corrections = spelled.corrections.map {
      .init(typed: $0.typed, replacement: $0.term, kind: $0.match == .prefix ? .completed : .corrected)
    }
    outcome.rewrite.dropped = match.dropped.map { spelled.typed[$0] }
    outcome.shown = try shown(match.documents, context, filter: context.filter)
    // The matches as an array once: every facet and the category prediction loop over it.
    let shownDocs = outcome.shown.values
    outcome.facets = try options.facets.map { facet in
      // Disjunctive: a facet whose field the filter restricts is counted without those clauses.
      guard let expression = context.request.filter, FacetFilter.restricts(FacetFilter.field(of: facet), in: expression) else {
        return try facets.count([facet], over: shownDocs, in: generation, size: options.facetSize)[0]
      }
      let others = try FacetFilter.without(FacetFilter.field(of: facet), in: expression).map {
        try CompiledFilter($0, generation: generation)
      }
      let docs = try shown(match.documents, context, filter: others).values
      return try facets.count([facet], over: docs, in: generation, size: options.facetSize)[0]
    }
    outcome.categories = Self.categories(shownDocs, generation)
    outcome.rewrite.categories = outcome.categories.map { generation.items.categoryKeys[Int($0.leaf)] }
    if let key = options.sort.key(in: generation, newness: newnessAttribute) {
      let after = options.cursor.map { (key: $0.key, doc: $0.doc) }
      outcome.page = SortedPage.page(outcome.shown, key: key, after: after, count: context.request.count)
    }
    // A later page is the same search again: count a query once, on its first page.
    if options.cursor == nil {
      if outcome.shown.isEmptySet {
        zeroResults.record(context.request.query)
      } else if outcome.rewrite.corrections.isEmpty, outcome.rewrite.dropped.isEmpty {
        // Only what was searched as typed is suggested to others: no typos, no words that found nothing.
        popular.record(context.request.query)
      }
    }
    context.search = outcome
    context.timed("search", since: watch)
  }

  /// `matches` less what the answer may not show: outside `filter`, out of stock, excluded,
  /// hidden or changed by the catalog overlay so that they no longer qualify. Bitmap operations,
  /// plus a check of each doc the overlay changed.
  private func shown(_ matches: RoaringBitmap, _ context: RequestContext, filter: CompiledFilter?) throws -> RoaringBitmap {
    let generation = context.generation, items = generation.items
    var shown = matches
    if let filter { shown = shown.intersection(filter.documents()) }
    shown = shown.intersection(try generation.keywords.documents("in_stock", "true"))
    var removed: [UInt32] = context.request.excluded.compactMap { items.doc(for: $0)?.rawValue }
    if let overlay = generation.overlay {
      for doc in overlay.changedDocs where doc.index < items.count && shown.contains(doc.rawValue) {
        if items.isHidden(doc) || !items.inStock(doc) || !(filter?.matches(doc) ?? true) { removed.append(doc.rawValue) }
      }
    }
    return removed.isEmpty ? shown : shown.subtracting(RoaringBitmap(removed))
  }

  /// The leaf categories holding at least `categoryShare` of the popularity of `matches` (at most
  /// three, largest share first): what shoppers who bought these items bought them as, so the
  /// purchase log decides what a query is about. O(min(matches, 4,096)).
  static func categories(_ matches: [UInt32], _ generation: IndexGeneration) -> [(leaf: UInt32, share: Float)] {
    let items = generation.items, popularity = generation.popularity.itemPopularity
    let n = min(items.count, popularity.count)
    var weights = [Float](repeating: 0, count: items.categoryKeys.count)
    var total: Float = 0
    items.leafColumn.withUnsafeBufferPointer { leaves in
      popularity.withUnsafeBufferPointer { popularity in
        // A share needs no exact count: at most 4,096 matches, evenly spread, are enough to weigh.
        let step = max(1, matches.count / 4_096)
        for k in Swift.stride(from: 0, to: matches.count, by: step) where Int(matches[k]) < n {
          let doc = matches[k]
          let leaf = leaves[Int(doc)]
          guard Int(leaf) < weights.count else { continue }
          // Every match counts a little, so a query over items nobody bought still has a category.
          let w = popularity[Int(doc)] + 0.01
          weights[Int(leaf)] += w
          total += w
        }
      }
    }
    guard total > 0 else { return [] }
    return weights.indices.filter { weights[$0] / total >= categoryShare }
      .map { (leaf: UInt32($0), share: weights[$0] / total) }
      .sorted { $0.share != $1.share ? $0.share > $1.share : $0.leaf < $1.leaf }
      .prefix(3).map { $0 }
  }
}
