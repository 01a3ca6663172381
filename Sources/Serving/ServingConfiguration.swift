import FunnelCore

/// Recall quotas, budgets and re-ranking settings of the pipeline.
public struct ServingConfiguration: Hashable, Sendable {
  /// How many candidates each channel may propose, per scene.
  public struct Quotas: Hashable, Sendable {
    public var similar: Int
    public var category: Int
    public var popular: Int
    public var text: Int
    /// Items matching the request's filter, by popularity (only when a filter is given).
    public var rule: Int
    /// The user's own past purchases. 0 makes the scene a discovery scene: purchased items are dropped.
    public var repeatPurchase: Int
    /// Items rising now.
    public var trending: Int
    /// Embedding neighbours of the seeds (when the index has vectors).
    public var vector: Int
    /// Swing neighbours of the seeds (when the index has them).
    public var swing: Int
    /// Session co-occurrence neighbours of the seeds (when the index has them).
    public var session: Int
    /// The user's user-based CF list (when the build knew the user).
    public var userCF: Int
    /// Nearest items to the user's learned factors (when the index has factors).
    public var factors: Int

    /// Sets the quotas named in `overrides` (experiment arms; names as in `ExperimentPlan.quotaChannels`).
    public mutating func override(with overrides: [String: Int]) {
      for (name, value) in overrides {
        switch name {
        case "similar": similar = value
        case "category": category = value
        case "popular": popular = value
        case "text": text = value
        case "rule": rule = value
        case "repeat": repeatPurchase = value
        case "trending": trending = value
        case "vector": vector = value
        case "swing": swing = value
        case "session": session = value
        case "user_cf": userCF = value
        case "factors": factors = value
        default: break
        }
      }
    }

    /// Creates quotas (0 disables a channel).
    public init(similar: Int, category: Int, popular: Int, text: Int, rule: Int = 200, repeatPurchase: Int = 0,
                trending: Int = 0, vector: Int = 0, swing: Int = 0, session: Int = 0, userCF: Int = 0, factors: Int = 0) {
      self.similar = similar
      self.category = category
      self.popular = popular
      self.text = text
      self.rule = rule
      self.repeatPurchase = repeatPurchase
      self.trending = trending
      self.vector = vector
      self.swing = swing
      self.session = session
      self.userCF = userCF
      self.factors = factors
    }
  }

  public var limits = RequestLimits()
  /// Quotas per scene.
  public var quotas: [Scene: Quotas] = [
    .home: Quotas(similar: 300, category: 300, popular: 200, text: 0, trending: 100, vector: 200, swing: 150, session: 100,
                  userCF: 150, factors: 200),
    .itemPage: Quotas(similar: 400, category: 200, popular: 100, text: 0, vector: 200, swing: 200, session: 150, factors: 100),
    .cart: Quotas(similar: 400, category: 150, popular: 100, text: 0, vector: 100, swing: 200, session: 150, factors: 100),
    .email: Quotas(similar: 300, category: 300, popular: 200, text: 0, repeatPurchase: 50, trending: 100, vector: 200, swing: 150,
                   session: 100, userCF: 150, factors: 200),
    .search: Quotas(similar: 0, category: 0, popular: 0, text: 1_000, rule: 0),
  ]
  /// How many of a search's text matches the model ranks (0, the default: every match). N > 0 is
  /// a first phase, like Vespa's second-phase `rerank-count`: the best N by BM25 (ties by
  /// document) are ranked by the model and only their real-time counts read; the other matches
  /// follow in BM25 order with the lowest model score (business boosts, which re-sort by score,
  /// order those by document). It pays when the model's order follows the
  /// text score; on the synthetic 1M catalog it does not (it saved CPU but kept a minority of the
  /// model's top 20: `Benchmarks/e2e/answer_overlap.py` measures it).
  public var searchRankCount = 0
  /// Queries whose text matches are kept for later searches of the same generation (0: none). The
  /// matches do not depend on the user, filter or model, so repeated queries skip BM25 and answer
  /// the same; ~8 KB per query at the search quota. See `TextMatchCache`.
  public var searchCacheEntries = 1_024
  /// The numeric catalog attribute a search sorted `newest` orders by, largest first (e.g. the
  /// Unix time an item was added); items without it come last.
  public var searchNewnessAttribute = "added_at"
  /// Most live catalog changes the overlay holds before UpsertItems and DeleteItems are refused
  /// (RESOURCE_EXHAUSTED) until a generation folds them in: bounds each replica's overlay memory.
  public var maxCatalogChanges = 100_000
  /// Scenes whose answers mix recall channels by Thompson sampling over what the online learner
  /// measured (`ChannelBandit`); empty: none (the model's order decides alone).
  public var banditScenes: Set<Scene> = []
  /// Candidates from which a request's scoring is split in two halves scored at once on two threads
  /// (0: never). A request then waits for about half its scoring time, which on two cores is most
  /// of a ranking request's CPU; the scores and the order are the same. Below it the hop to a
  /// second thread costs more than it saves.
  public var parallelScoringRows = 256
  /// Time allowed for fetching the user's real-time profile before answering without it.
  public var profileBudget: Duration = .milliseconds(50)
  /// How long a user's offline profile (MongoDB `users`) is served from the process's cache before
  /// it is read again, ms. See `UserFeatureCache`.
  public var profileCacheTTLMs = 300_000
  /// How much longer an expired profile is still served while one background read refreshes it, ms
  /// (0: an expired profile is read before answering). Offline profiles change with batch jobs, not
  /// per request; this keeps store reads off the request path for known users and rides out
  /// MongoDB outages shorter than it.
  public var profileStaleMs = 3_600_000
  /// Recent interactions read per request.
  public var recentInteractions = 100
  /// How long a candidate's real-time counts read from a remote store (Redis) are reused by later
  /// requests, ms (0: read every time). See `ItemActivityCache`.
  public var itemActivityMaxAgeMs = 250
  /// Most items of one leaf category in an answer before others are preferred (scaled up for big counts).
  public var maxPerCategory = 4
  /// Events older than this are refused by Track.
  public var maxEventAge: Duration = .seconds(30 * 86_400)
  /// Events further in the future than this are refused by Track.
  public var maxEventSkew: Duration = .seconds(300)
  /// Most events in one Track call.
  public var maxEventsPerBatch = 500
  /// Events for items the serving generation does not have: refused per event and counted (the
  /// default: a typo or a bot's invention must not grow the real-time state), or accepted and
  /// counted (for shops whose new items reach events before the next generation is built).
  public var acceptUnknownItems = false
  /// Track: an event that does not say the user consented counts as not consented (and is not
  /// stored). Off: only an explicit denial keeps an event out.
  public var requireConsent = false
  /// Concurrent users of one BatchRecommend stream.
  public var batchConcurrency = 8
  /// The arm answers outside every experiment report.
  public var experimentArm = "default"
  /// How long after an exposure a click, cart or purchase without a request id is attributed to it.
  public var attributionWindow: Duration = .seconds(86_400)
  /// The ranking cascade of tree-ensemble models (off by default).
  public var modelCascade = ModelCascade()

  /// The defaults above.
  public init() {}
}
