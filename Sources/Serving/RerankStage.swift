import FunnelCore
import IndexFormat

/// Stage 5, re-ranking after the model, all in one place: the request's boosts (brand and category
/// factors, then re-sorted), in a bandit scene the channel mix of the first slots (`ChannelBandit`),
/// then one item per product group and, unless the plan keeps the relevance order, category
/// diversity, then the pins (known, in stock, not dropped) first in their order. Stateless.
struct RerankStage: Sendable {
  func run(_ context: inout RequestContext) throws {
    let watch = Stopwatch()
    let (generation, candidates) = (context.generation, context.candidates)
    // A later relevance page ranks the pages before it too, then leaves them out (the answer stage).
    let count = context.request.count + context.plan.pageOffset
    guard !context.plan.keyedOrder else {
      context.chosen = Self.dedupe(context.ranked, candidates: candidates, generation: generation, count: count)
      context.timed("rerank", since: watch)
      return
    }
    var boosted = try Self.boost(context.ranked, rules: context.request.rules, candidates: candidates, generation: generation)

    if let (arms, seed) = context.bandit {
      // A candidate is credited to its first channel, as its answer item and exposure name it.
      var rng = SplitMix64(seed: seed)
      boosted = RankedOrder(ordered: ChannelBandit.order(Array(boosted), slots: count, arms: arms, channelOf: { candidates[$0].channels.rawValue.trailingZeroBitCount },
                                                        rng: &rng))
    }
    context.chosen = context.plan.keepsRelevanceOrder
      ? Self.dedupe(boosted, candidates: candidates, generation: generation, count: count)
      : Self.diversify(boosted, candidates: candidates, generation: generation, count: count,
                       maxPerCategory: context.plan.maxPerCategory)
    let items = generation.items
    // Pins go on the first page only.
    context.pinned = context.plan.pageOffset > 0 ? [] : context.request.rules.pins.filter { id in
      guard let doc = items.doc(for: id) else { return false }
      return items.inStock(doc) && !context.dropped.contains(doc)
    }
    context.timed("rerank", since: watch)
  }

  /// Multiplies the scores in `ranked` (candidate index, score) by every matching boost of `rules`
  /// and re-sorts (ties by document). O(ranked x boosts + ranked log ranked).
  static func boost(_ ranked: RankedOrder, rules: BusinessRules, candidates: [Candidate],
                    generation: IndexGeneration) throws -> RankedOrder {
    guard !rules.boosts.isEmpty else { return ranked }
    let sets = try rules.boosts.map { (try generation.keywords.documents($0.field, $0.value), $0.factor) }
    // Any score may move, so every candidate is re-scored (the ranked order holds each one; in
    // candidate order here) and the whole is re-ordered.
    var scores = [Float](repeating: .nan, count: candidates.count)
    for (index, score) in ranked {
      var boosted = score
      for (set, factor) in sets where set.contains(candidates[index].doc.rawValue) { boosted *= factor }
      scores[index] = boosted
    }
    return RankedOrder(scores: scores, of: candidates)
  }

  /// Greedy category diversity: walks `ranked` best first and defers an item whose leaf category
  /// already holds `maxPerCategory` of the chosen ones; deferred items fill up if too few remain.
  /// One item per product group. Returns the chosen (candidate index, score), at most `count`. O(ranked).
  static func diversify(_ ranked: some Sequence<(Int, Float)>, candidates: [Candidate], generation: IndexGeneration,
                        count: Int, maxPerCategory: Int) -> [(Int, Float)] {
    var chosen: [(Int, Float)] = []
    var deferred: [(Int, Float)] = []
    // Chosen items per leaf category, at the leaf's place in `chosenIn` (a multiplicative-hash
    // table: a dictionary would SipHash the leaf twice per item read); place 0 counts the items
    // without a category.
    var place = DocPositionTable(capacity: min(max(count, 8), 256))
    var chosenIn = [0]
    var groups = ProductGroups(generation)
    for entry in ranked {
      guard chosen.count < count else { break }
      guard groups.firstOfItsGroup(candidates[entry.0].doc) else { continue }
      let leaf = generation.items.leafCategory(candidates[entry.0].doc)
      var slot = 0
      if leaf != ItemTable.noParent {
        slot = place.positionOrInsert(DocID(rawValue: leaf), position: chosenIn.count) ?? chosenIn.count
        if slot == chosenIn.count { chosenIn.append(0) }
      }
      if chosenIn[slot] < maxPerCategory {
        chosenIn[slot] += 1
        chosen.append(entry)
      } else {
        deferred.append(entry)
      }
    }
    for entry in deferred where chosen.count < count { chosen.append(entry) }
    return chosen
  }

  /// The best `count` of `ranked` in order, one item per product group (the relevance order kept).
  static func dedupe(_ ranked: some Sequence<(Int, Float)>, candidates: [Candidate], generation: IndexGeneration,
                     count: Int) -> [(Int, Float)] {
    var groups = ProductGroups(generation)
    var chosen: [(Int, Float)] = []
    // Stops at `count`: the order is sorted only as far as it is read.
    for entry in ranked {
      guard chosen.count < count else { break }
      if groups.firstOfItsGroup(candidates[entry.0].doc) { chosen.append(entry) }
    }
    return chosen
  }
}
