import FeatureStore
import FunnelCore
import IndexFormat
import Ranking
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fills the feature matrix for a set of candidates through a plan compiled once per model, and
/// scores it with the model. Immutable; thread-safe (a request keeps the ranker it started with).
public struct CandidateRanker: Sendable {
  /// The model that scores; its schema decides which features are filled.
  public let model: any ScoringModel
  /// The first phase of a cascade (`ModelCascade`): the model's first trees,
  /// which pick the `rerankCount` candidates the whole model ranks; nil without one.
  public let firstPhase: (any ScoringModel)?
  /// Candidates the whole model ranks when there is a first phase.
  public let rerankCount: Int
  private let plan: [FeatureSource]

  /// Where one column of the model's matrix comes from, decided once per model.
  enum FeatureSource: Sendable {
    /// Computed per candidate from the candidate, the user profile and the index.
    case computed(FeatureKind)
    /// A number from the request context (`context.KEY`), the same for every candidate.
    case context(String)
    /// An offline item feature (`item.NAME`) from the items snapshot.
    case item(String)
    /// An offline user profile feature (`user.NAME`), the same for every candidate.
    case user(String)
    /// A real-time item count (`rt.views_1h`, ...): index into `ItemActivity.featureNames`.
    case realtime(Int)
    /// Not available: left missing (NaN), which tree models route by their default direction.
    case missing

    /// Whether the column reads the profile's facts about the candidate (bought, seen, when).
    var readsFacts: Bool {
      switch self {
      case .computed(.purchaseCycle), .computed(.purchased), .computed(.viewed), .computed(.purchaseCount),
           .computed(.secondsSinceSeen): true
      default: false
      }
    }
  }

  /// Features the ranker knows how to compute. Columns the model names but the ranker does not know
  /// stay missing (NaN), which tree models handle by their default direction.
  enum FeatureKind: String, CaseIterable {
    case recallPopular = "recall_popular", recallCategory = "recall_category", recallSimilar = "recall_similar"
    case recallText = "recall_text", channelCount = "channel_count", affinity = "user_category_affinity"
    case priceRatio = "abs_log_price_ratio", purchased = "recently_purchased", viewed = "recently_viewed"
    case price = "price", inStock = "in_stock", popularity = "item_popularity", recallRepeat = "recall_repeat"
    case recallRule = "recall_rule", secondsSinceSeen = "seconds_since_last_seen", recallTrending = "recall_trending"
    case recallVector = "recall_vector", purchaseCount = "user_item_purchases"
    case recallSwing = "recall_swing", recallSession = "recall_session", recallUserCF = "recall_user_cf"
    case recallFactors = "recall_factors", factorScore = "user_item_factor", factorShare = "user_item_factor_share"
    case purchaseCycle = "user_item_purchase_cycle"
  }

  /// Names of the features the ranker computes, besides `context.KEY` (a model's other features are
  /// scored as missing).
  public static let knownFeatures = Set(FeatureKind.allCases.map(\.rawValue))

  /// Whether the ranker can fill a feature of this name.
  public static func knows(_ name: String) -> Bool {
    knownFeatures.contains(name) || name.hasPrefix("context.") || name.hasPrefix("item.") || name.hasPrefix("user.")
      || ItemActivity.featureNames.contains(name)
  }

  /// Whether the model reads real-time item counts (the pipeline fetches them only then).
  public var needsItemActivity: Bool { plan.contains { if case .realtime = $0 { true } else { false } } }

  /// A ranker for `model`; the feature plan is compiled once here, not per cell. With `cascade` on
  /// and a tree ensemble of more trees than its first phase, that phase is cut from the model here,
  /// once; other models have none.
  public init(model: any ScoringModel, cascade: ModelCascade = .init()) {
    self.model = model
    self.firstPhase = cascade.firstPhaseTrees > 0 ? (model as? TreeEnsemble)?.firstTrees(cascade.firstPhaseTrees) : nil
    self.rerankCount = cascade.rerankCount
    self.plan = model.schema.names.map { name in
      if let kind = FeatureKind(rawValue: name) { return .computed(kind) }
      if name.hasPrefix("context.") { return .context(String(name.dropFirst("context.".count))) }
      if name.hasPrefix("item.") { return .item(String(name.dropFirst("item.".count))) }
      if name.hasPrefix("user.") { return .user(String(name.dropFirst("user.".count))) }
      if let index = ItemActivity.featureNames.firstIndex(of: name) { return .realtime(index) }
      return .missing
    }
  }

  /// The model's score of each of `candidates`, in order. A row's score depends on that row alone,
  /// so scoring a list in parts gives the same scores. O(candidates * features) plus the model's cost.
  public func scores(_ candidates: [Candidate], _ inputs: RankingInputs) -> [Float] { scores(candidates[...], inputs) }

  /// The model's score of each of `candidates` (a slice: row 0 is its first element, and `inputs`
  /// are indexed the same way), in order; with `firstPhase`, the first phase's scores (the model's
  /// when there is none).
  public func scores(_ candidates: ArraySlice<Candidate>, _ inputs: RankingInputs, firstPhase: Bool = false) -> [Float] {
    let matrix = candidates.withUnsafeBufferPointer { fill($0, inputs) }
    var scores = [Float](repeating: 0, count: candidates.count)
    ((firstPhase ? self.firstPhase : nil) ?? model).score(matrix, into: &scores)
    return scores
  }

  /// Whether ranking `count` candidates takes the cascade: a first phase over all of them, then the
  /// whole model over the best `rerankCount`.
  public func cascades(_ count: Int) -> Bool { firstPhase != nil && count > rerankCount }

  /// The model's input rows for `candidates` (debug output and exposure logs: what items were scored with).
  public func featureRows(_ candidates: [Candidate], _ inputs: RankingInputs) -> [[Float]] {
    let matrix = candidates.withUnsafeBufferPointer { fill($0, inputs) }
    return (0..<matrix.rows).map { r in (0..<matrix.columns).map { matrix[r, $0] } }
  }

  private func fill(_ candidates: UnsafeBufferPointer<Candidate>, _ inputs: RankingInputs) -> FeatureMatrix {
    let (profile, generation, itemFeatures, itemActivity) = (inputs.profile, inputs.generation, inputs.itemFeatures, inputs.itemActivity)
    var matrix = FeatureMatrix(columns: plan.count, capacity: candidates.count)
    matrix.reset(rows: candidates.count)
    let (constants, itemColumns) = requestColumns(inputs)
    let n = candidates.count
    let itemRows: [Int?] = itemFeatures.map { features in candidates.map { features.row($0.doc) } } ?? []
    let decays = decayFactors(n, inputs)
    // The profile's per-item facts and affinities, indexed once for every candidate's lookups.
    let lookup = ProfileLookup(profile, generation: generation)
    // Each candidate's place in the profile's facts, found once for the several columns that read them.
    let factSlots = plan.contains(where: \.readsFacts) ? candidates.map { lookup.slot($0.doc) } : []
    // Column by column: each source's branch is taken once per column, not once per cell.
    let width = plan.count
    matrix.withUnsafeMutableCells { cells in
      for (column, source) in plan.enumerated() {
        switch source {
        case .computed(.factorShare):
          // The factor score relative to the request's best candidate: the trees compare a user's
          // items on one scale whatever the length of that user's vector.
          var best: Float = 0
          for row in 0..<n {
            let score = lookup.factorScore(candidates[row].doc, in: generation)
            cells[row * width + column] = score
            if score > best { best = score }
          }
          for row in 0..<n { cells[row * width + column] = best > 0 ? cells[row * width + column] / best : .nan }
        case .computed(let kind):
          factSlots.withUnsafeBufferPointer { slots in
            Self.fill(kind, candidates, slots, column: column, width: width, cells: cells, profile, lookup, generation)
          }
        case .context, .user:
          let constant = constants[column] ?? .nan
          for row in 0..<n { cells[row * width + column] = constant }
        case .item:
          guard let c = itemColumns[column], let table = itemFeatures?.table else { continue }
          for row in 0..<n {
            if let itemRow = itemRows[row] { cells[row * width + column] = table.value(row: itemRow, column: c) }
          }
        case .realtime(let index):
          for row in 0..<min(n, itemActivity.count) {
            if let activity = itemActivity[row] {
              cells[row * width + column] = Float(activity.counts[index] * decays[2 * row + index % 2])
            }
          }
        case .missing: continue
        }
      }
    }
    return matrix
  }

  /// Request-level columns (`context.*`, `user.*`: one value for every row) and the items snapshot's
  /// column of each `item.*` feature, looked up once per request, not per cell.
  private func requestColumns(_ inputs: RankingInputs) -> (constants: [Float?], itemColumns: [Int?]) {
    let constants: [Float?] = plan.map { source in
      switch source {
      case .context(let key): inputs.context[key].flatMap(Float.init) ?? .nan
      case .user(let name): inputs.userFeatures[name] ?? .nan
      default: nil
      }
    }
    let itemColumns: [Int?] = plan.map { source in
      guard case .item(let name) = source else { return nil }
      return inputs.itemFeatures?.table.column(name)
    }
    return (constants, itemColumns)
  }

  /// Per candidate, the decay of its 1 h and 24 h counts to now (two powers, not one per count);
  /// empty when the model reads no real-time counts.
  private func decayFactors(_ n: Int, _ inputs: RankingInputs) -> [Double] {
    guard needsItemActivity else { return [] }
    var decays = [Double](repeating: 0, count: 2 * n)
    for row in 0..<min(n, inputs.itemActivity.count) {
      guard let activity = inputs.itemActivity[row] else { continue }
      (decays[2 * row], decays[2 * row + 1]) = activity.decayFactors(to: Double(inputs.nowMs))
    }
    return decays
  }

  /// Kinds of evidence behind a candidate (`channel_count`): the item-to-item co-occurrence
  /// tables (ItemCF, Swing, sessions) count once together, as do the two learned collaborative
  /// channels (user CF, factors) — three tables built from the same baskets agreeing is one kind of
  /// evidence, not three — and every other channel once.
  @inline(__always) static func evidenceCount(_ channels: ChannelSet) -> Float {
    let coOccurrence: ChannelSet = [.similar, .swing, .session], collaborative: ChannelSet = [.userCF, .factors]
    let others = channels.subtracting(coOccurrence.union(collaborative))
    return Float(others.rawValue.nonzeroBitCount + (channels.isDisjoint(with: coOccurrence) ? 0 : 1)
                 + (channels.isDisjoint(with: collaborative) ? 0 : 1))
  }

  /// Column `column` of `cells` (row-major, `width` wide) filled with feature `kind` of every
  /// candidate: the kind is switched on once per column, and each case is its own loop.
  private static func fill(_ kind: FeatureKind, _ candidates: UnsafeBufferPointer<Candidate>, _ slots: UnsafeBufferPointer<Int32>,
                           column: Int, width: Int,
                           cells: UnsafeMutableBufferPointer<Float>, _ profile: UserProfile, _ lookup: ProfileLookup,
                           _ generation: IndexGeneration) {
    let items = generation.items
    /// The column from one value per row: of the candidate, or of its place in the profile's facts.
    @inline(__always) func put<Rows: Sequence>(_ rows: Rows, _ value: (Rows.Element) -> Float) {
      var cell = column
      for row in rows {
        cells[cell] = value(row)
        cell += width
      }
    }
    switch kind {
    case .recallPopular: put(candidates) { $0.popularScore }
    case .recallCategory: put(candidates) { $0.categoryScore }
    case .recallSimilar: put(candidates) { $0.similarScore }
    case .recallText: put(candidates) { $0.textScore }
    case .recallRepeat: put(candidates) { $0.repeatScore }
    case .recallRule: put(candidates) { $0.ruleScore }
    case .recallTrending: put(candidates) { $0.trendingScore }
    case .recallVector: put(candidates) { $0.vectorScore }
    case .recallSwing: put(candidates) { $0.swingScore }
    case .recallSession: put(candidates) { $0.sessionScore }
    case .recallUserCF: put(candidates) { $0.userCFScore }
    case .recallFactors: put(candidates) { $0.factorsScore }
    case .factorScore: put(candidates) { lookup.factorScore($0.doc, in: generation) }
    case .factorShare: put(candidates) { _ in .nan }  // filled per request in `fill`
    case .purchaseCycle: put(slots) { lookup.purchaseCycle(at: $0) }
    case .channelCount: put(candidates) { evidenceCount($0.channels) }
    case .affinity: put(candidates) { lookup.affinity(to: $0.doc, in: items) }
    case .priceRatio:
      guard let typical = profile.typicalPrice, typical > 0 else { return put(candidates) { _ in .nan } }
      put(candidates) { c in
        let price = items.price(c.doc)
        return price > 0 ? Float(abs(log(price / typical))) : .nan
      }
    case .purchased: put(slots) { lookup.facts(at: $0)?.purchased == true ? 1 : 0 }
    case .viewed: put(slots) { lookup.facts(at: $0)?.viewed == true ? 1 : 0 }
    case .purchaseCount: put(slots) { Float(lookup.facts(at: $0)?.purchases ?? 0) }
    case .price: put(candidates) { Float(items.price($0.doc)) }
    case .inStock: put(candidates) { items.inStock($0.doc) ? 1 : 0 }
    case .popularity:
      // An item the catalog overlay added has no popularity yet.
      let popularity = generation.popularity.itemPopularity
      put(candidates) { $0.doc.index < popularity.count ? popularity[$0.doc.index] : 0 }
    case .secondsSinceSeen: put(slots) { lookup.secondsSinceSeen(at: $0) }
    }
  }
}
