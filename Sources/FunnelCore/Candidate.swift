/// The recall channels a candidate came from, as a bit set (cheap to merge, no allocation).
public struct ChannelSet: OptionSet, Hashable, Sendable {
  public var rawValue: UInt16
  @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

  /// Globally popular / trending items (the cold-start fallback).
  public static let popular = ChannelSet(rawValue: 1 << 0)
  /// Popular within the categories the user likes.
  public static let category = ChannelSet(rawValue: 1 << 1)
  /// Item-to-item neighbours of the user's recent or anchor items.
  public static let similar = ChannelSet(rawValue: 1 << 2)
  /// Text match (search).
  public static let text = ChannelSet(rawValue: 1 << 3)
  /// Items matching the request's rule expression, by popularity.
  public static let rule = ChannelSet(rawValue: 1 << 4)
  /// The user's own past purchases (replenishment: "buy again").
  public static let repeatPurchase = ChannelSet(rawValue: 1 << 5)
  /// Items rising now (short half-life popularity).
  public static let trending = ChannelSet(rawValue: 1 << 6)
  /// Nearest neighbours of the user's (or anchor's) embedding.
  public static let vector = ChannelSet(rawValue: 1 << 7)
  /// Swing neighbours of the seeds (bought together by otherwise dissimilar users).
  public static let swing = ChannelSet(rawValue: 1 << 8)
  /// Items in the same visits as the seeds (session co-occurrence, time-decayed).
  public static let session = ChannelSet(rawValue: 1 << 9)
  /// What the users most like this user bought (user-based CF, built with the generation).
  public static let userCF = ChannelSet(rawValue: 1 << 10)
  /// Nearest items to the user's learned factors (matrix factorisation), or to their seeds'.
  public static let factors = ChannelSet(rawValue: 1 << 11)

  /// Every channel with its wire name, in a stable order.
  public static let named: [(ChannelSet, String)] = [
    (.popular, "popular"), (.category, "category"), (.similar, "similar"), (.text, "text"), (.rule, "rule"),
    (.repeatPurchase, "repeat"), (.trending, "trending"), (.vector, "vector"), (.swing, "swing"), (.session, "session"),
    (.userCF, "user_cf"), (.factors, "factors"),
  ]

  /// The wire names of the channels in this set, in `named` order.
  public var names: [String] {
    // One array sized once (a name per answered item and channel; filter-then-map made two).
    var names: [String] = []
    names.reserveCapacity(rawValue.nonzeroBitCount)
    for (channel, name) in Self.named where contains(channel) { names.append(name) }
    return names
  }
}

/// One recalled item on its way through merging and ranking.
public struct Candidate: Hashable, Sendable {
  public var doc: DocID
  /// Every channel that recalled it.
  public var channels: ChannelSet
  /// Best recall score per channel kind, kept for ranking features (0 when the channel did not recall it).
  public var popularScore: Float
  public var categoryScore: Float
  public var similarScore: Float
  public var textScore: Float
  public var ruleScore: Float
  public var repeatScore: Float
  public var trendingScore: Float
  public var vectorScore: Float
  public var swingScore: Float
  public var sessionScore: Float
  public var userCFScore: Float
  public var factorsScore: Float

  /// A candidate from no channel yet, all scores zero.
  @inlinable public init(doc: DocID) {
    self.doc = doc
    self.channels = []
    self.popularScore = 0
    self.categoryScore = 0
    self.similarScore = 0
    self.textScore = 0
    self.ruleScore = 0
    self.repeatScore = 0
    self.trendingScore = 0
    self.vectorScore = 0
    self.swingScore = 0
    self.sessionScore = 0
    self.userCFScore = 0
    self.factorsScore = 0
  }

  /// Records that `channel` recalled this item with `score`, keeping the best score per channel.
  @inlinable public mutating func add(_ channel: ChannelSet, score: Float) {
    channels.insert(channel)
    switch channel {
    case .popular: popularScore = max(popularScore, score)
    case .category: categoryScore = max(categoryScore, score)
    case .similar: similarScore = max(similarScore, score)
    case .text: textScore = max(textScore, score)
    case .rule: ruleScore = max(ruleScore, score)
    case .repeatPurchase: repeatScore = max(repeatScore, score)
    case .trending: trendingScore = max(trendingScore, score)
    case .vector: vectorScore = max(vectorScore, score)
    case .swing: swingScore = max(swingScore, score)
    case .session: sessionScore = max(sessionScore, score)
    case .userCF: userCFScore = max(userCFScore, score)
    case .factors: factorsScore = max(factorsScore, score)
    default: break
    }
  }
}
