import FunnelCore
import IndexFormat
import Recall
import Tracing

/// Stage 2, recall: the request's filter compiled once (through the sub-query caches), then every
/// channel of one table, each with its quota from the scene's plan, into one collector (merged and
/// de-duplicated). Text, rule and repeat purchases are rows of the table like the others; a quota of
/// 0 skips a channel. Thread-safe; one per engine.
struct RecallStage: Sendable {
  let search: SearchStage
  let subQueries: SubQueryResolver
  let textMatches: TextMatchCache?
  let metrics: ServingMetrics
  let tracer: any Tracer

  func run(_ context: inout RequestContext) async throws {
    let watch = Stopwatch()
    let generation = context.generation
    if let expression = context.request.filter {
      context.filter = try await subQueries.compile(expression, generation: generation)
    }
    try search.run(&context)
    if context.plan.keyedOrder, let page = context.search?.page {
      // A keyed sort's page is the answer's order: no channel has anything to add.
      var collector = CandidateCollector(capacity: page.count)
      for entry in page { collector.add(DocID(rawValue: entry.doc), channel: .text, score: 1) }
      context.debug.mergedCandidates = collector.candidates.count
      context.candidates = collector.candidates
      context.timed("recall", since: watch)
      return
    }
    let recallRequest = Self.recallRequest(context)
    // The mapped channels index their arrays by doc: seeds the catalog overlay added go to its own recall.
    let mappedRequest = OverlayRecall.mappedSeeds(recallRequest, in: generation)
    let channels = channels(context)
    // Sized for every channel's quota at once: the merged set never outgrows its table mid-recall.
    var collector = CandidateCollector(capacity: min(1 << 16, channels.reduce(0) { $0 + max(0, $1.1) }))
    for (channel, quota) in channels where quota > 0 {
      // A span and a timing per channel: which channel made a slow answer is the first question.
      let start = ContinuousClock.now
      if SpanGate.recording {
        tracer.withSpan(Self.spanName(channel.channel), ofKind: .internal) { _ in
          channel.recall(mappedRequest, in: generation, quota: quota, into: &collector)
        }
      } else {
        channel.recall(mappedRequest, in: generation, quota: quota, into: &collector)
      }
      metrics.recalled(channel.channel, candidates: collector.offered(by: channel.channel), after: ContinuousClock.now - start)
    }
    if let overlay = generation.overlay, !overlay.added.isEmpty {
      let q = context.plan.quotas
      OverlayRecall().recall(recallRequest, in: generation, text: q.text, similar: q.similar, vector: q.vector, into: &collector)
    }
    for (channel, name) in ChannelSet.named {
      let n = collector.offered(by: channel)
      if n > 0 { context.debug.channelCounts.append(.init(channel: name, candidates: n)) }
    }
    context.debug.mergedCandidates = collector.candidates.count
    context.candidates = collector.candidates
    if let categories = context.search?.categories, !categories.isEmpty {
      Self.boost(&context.candidates, categories: categories, in: generation)
    }
    context.timed("recall", since: watch)
  }

  /// How much a predicted category lifts its items' text scores, at a share of 1.
  static let categoryBoost: Float = 0.2

  /// Multiplies the text score of candidates in a category the query is predicted to be about by
  /// 1 + `categoryBoost` x its share: the query's likely meaning first when its words are
  /// ambiguous, for the first phase and for the model (which reads the text score). O(candidates).
  static func boost(_ candidates: inout [Candidate], categories: [(leaf: UInt32, share: Float)], in generation: IndexGeneration) {
    let items = generation.items
    for i in candidates.indices where candidates[i].textScore > 0 {
      let leaf = items.leafCategory(candidates[i].doc)
      if let share = categories.first(where: { $0.leaf == leaf })?.share { candidates[i].textScore *= 1 + categoryBoost * share }
    }
  }

  /// The span of a channel (a literal: a request's spans build no strings).
  private static func spanName(_ channel: ChannelSet) -> String {
    switch channel {
    case .text: "recall text"
    case .similar: "recall similar"
    case .category: "recall category"
    case .popular: "recall popular"
    case .trending: "recall trending"
    case .vector: "recall vector"
    case .repeatPurchase: "recall repeat"
    case .rule: "recall rule"
    case .swing: "recall swing"
    case .session: "recall session"
    case .userCF: "recall user_cf"
    case .factors: "recall factors"
    default: "recall"
    }
  }

  /// The channel table, in the order candidates are merged (which decides ties): every channel the
  /// engine has, each with the plan's quota; the rule channel only when the request has a filter.
  func channels(_ context: RequestContext) -> [(any RecallChannel, Int)] {
    let q = context.plan.quotas
    var table: [(any RecallChannel, Int)] = [
      (TextRecall(cache: textMatches), q.text), (SimilarItemsRecall(), q.similar), (CategoryRecall(), q.category),
      (PopularRecall(), q.popular), (TrendingRecall(), q.trending), (VectorRecall(), q.vector),
      (RepeatPurchaseRecall(), q.repeatPurchase), (CoOccurrenceRecall(.swing), q.swing), (CoOccurrenceRecall(.session), q.session),
      (UserCFRecall(), q.userCF), (FactorRecall(), q.factors),
    ]
    if let filter = context.filter { table.append((RuleRecall(filter: filter), q.rule)) }
    return table
  }

  /// Seeds (anchors first, then the user's history at a lower weight when there are anchors),
  /// category affinities (the anchors' categories first), query terms and purchases.
  static func recallRequest(_ context: RequestContext) -> RecallRequest {
    let (anchors, profile, generation) = (context.anchors, context.profile, context.generation)
    var seeds = anchors.map { (doc: $0, weight: Float(1)) }
    let historyWeight: Float = anchors.isEmpty ? 1 : 0.3
    seeds += profile.seeds.map { (doc: $0.doc, weight: $0.weight * historyWeight) }
    var affinity = profile.leafAffinities(limit: 8, in: generation)
    for anchor in anchors {
      let leaf = generation.items.leafCategory(anchor)
      // An item the catalog overlay added may have a category the generation does not know yet.
      if leaf != ItemTable.noParent { affinity.insert((category: leaf, weight: 1), at: 0) }
    }
    // A search's terms were resolved by the search stage (analysis, completion, correction,
    // synonyms); the text channel recalls from its match set (with a filter, the matches that pass).
    var request = RecallRequest(seeds: seeds, categoryAffinity: affinity, queryTerms: context.search?.terms ?? [])
    if let search = context.search {
      if let filter = context.request.filter {
        request.textWithin = search.shown
        request.textWithinKey = search.matchKey + "\u{1F}" + filter.canonical
      } else {
        request.textWithin = search.matches
        request.textWithinKey = search.matchKey
      }
    }
    request.purchases = profile.purchases
    request.userRow = profile.learnedRow
    request.userFactors = profile.factors
    return request
  }
}
