import FunnelCore
import IndexFormat
import Search

/// Stage 6, the answer: the chosen items with their channels and the reasons they were recalled
/// (explanations), the pins first (displacing the last items), the debug report with the model's
/// inputs for the top five items when asked, and the versions and arm that served it. Stateless.
struct AnswerStage: Sendable {
  /// The configuration's arm label outside experiments.
  let defaultArm: String

  func run(_ context: RequestContext, requestID: String) -> ServingAnswer {
    let (request, generation, candidates) = (context.request, context.generation, context.candidates)
    let items = generation.items
    // A later relevance page: the pages before it were ranked too, and are left out here.
    var answerItems = context.chosen.dropFirst(context.plan.pageOffset).map { (index, score) in
      let candidate = candidates[index]
      return RankedItem(itemID: items.id(candidate.doc), score: Double(score), channels: candidate.channels.names,
                        reasons: reasons(candidate, context))
    }
    if !context.pinned.isEmpty {
      let top = answerItems.first?.score ?? 1
      answerItems.removeAll { context.pinned.contains($0.itemID) }
      answerItems.insert(contentsOf: context.pinned.map { RankedItem(itemID: $0, score: top, channels: ["pinned"], reasons: ["pinned"]) },
                         at: 0)
      answerItems = Array(answerItems.prefix(request.count))
    }
    var debug = context.debug
    if request.debug, let inputs = context.inputs {
      // The model's inputs for the top items, recomputed for those rows only (debug requests).
      let top = context.chosen.prefix(5).map(\.0)
      let rows = context.ranker.featureRows(top.map { candidates[$0] }, inputs.selecting(top))
      debug.features = zip(top, rows).map { index, row in
        DebugReport.ItemFeatures(itemID: items.id(candidates[index].doc),
                                 values: zip(context.ranker.model.schema.names, row).map { .init(name: $0, value: $1) })
      }
    }
    var answer = ServingAnswer(
      items: answerItems, requestID: requestID, modelVersion: context.ranker.model.version,
      indexVersion: generation.version, experimentArm: request.assignment?.label ?? defaultArm,
      degraded: context.degraded, totalMatches: candidates.count, debug: request.debug ? debug : nil)
    if let search = context.search, let options = request.search {
      // Every match that may be shown, plus items the live catalog added (recalled on their own).
      let added = candidates.lazy.filter { $0.doc.index >= items.count }.count
      answer.totalMatches = search.shown.count + added
      answer.facets = search.facets
      answer.rewrite = search.rewrite
      answer.nextCursor = Self.nextCursor(options, search, context, shown: answer.items.count, total: answer.totalMatches)
    }
    return answer
  }

  /// The cursor of the page after this one, or empty when this is the last: a keyed page continues
  /// after its last item's key, a relevance page at its end (within the ranked window).
  static func nextCursor(_ options: SearchOptions, _ search: SearchStage.Outcome, _ context: RequestContext,
                         shown: Int, total: Int) -> String {
    let count = context.request.count
    let end = options.offset + count
    if options.sort.isKeyed {
      guard let last = search.page.last, search.page.count >= count, end < total else { return "" }
      return SearchCursor(fingerprint: options.fingerprint, offset: end, key: last.key, doc: last.doc).encoded
    }
    guard shown >= count, end < min(total, SearchCursor.relevanceWindow) else { return "" }
    return SearchCursor(fingerprint: options.fingerprint, offset: end).encoded
  }

  /// Why `candidate` is in the answer, one reason per channel that recalled it.
  private func reasons(_ candidate: Candidate, _ context: RequestContext) -> [String] {
    let (generation, anchors, profile) = (context.generation, context.anchors, context.profile)
    // The table is read in place: a local copy retained and released each of its columns per item.
    let leaf = generation.items.leafCategory(candidate.doc)
    var reasons: [String] = []
    reasons.reserveCapacity(candidate.channels.rawValue.nonzeroBitCount)
    if candidate.channels.contains(.text) { reasons.append("matches '\(context.request.query)'") }
    if candidate.channels.contains(.similar) {
      let table = generation.neighbours
      let anchor = anchors.first { a in table.row(a).contains { table.neighbours[$0] == candidate.doc.rawValue } }
      reasons.append(anchor.map { "often bought with \(generation.items.id($0))" } ?? "often bought with items you viewed")
    }
    if candidate.channels.contains(.category) {
      // An item the overlay added in a category the generation does not have yet has no leaf.
      let category = leaf == ItemTable.noParent ? "its category" : generation.items.categoryKeys[Int(leaf)]
      reasons.append(profile.affinity(to: candidate.doc, in: generation) > 0 ? "popular in \(category), which you like"
                                                                          : "popular in \(category)")
    }
    if candidate.channels.contains(.rule) { reasons.append("matches your filter") }
    if candidate.channels.contains(.repeatPurchase) { reasons.append("you bought this before") }
    if candidate.channels.contains(.popular) { reasons.append("popular right now") }
    if candidate.channels.contains(.trending) { reasons.append("trending") }
    if candidate.channels.contains(.vector) { reasons.append("similar to what you looked at") }
    if candidate.channels.contains(.swing) { reasons.append("bought together with what you chose, by shoppers of every kind") }
    if candidate.channels.contains(.session) { reasons.append("often in the same visit as what you looked at") }
    if candidate.channels.contains(.userCF) { reasons.append("shoppers like you bought this") }
    if candidate.channels.contains(.factors) { reasons.append("picked for your tastes") }
    return reasons
  }
}
