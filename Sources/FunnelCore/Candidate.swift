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
  /// Best recall score per channel, by the channel's bit (0 where the channel did not recall it):
  /// one vector, so recording a score is an indexed store rather than a switch over the channels.
  @usableFromInline var scores: SIMD16<Float>

  /// A candidate from no channel yet, all scores zero.
  @inlinable public init(doc: DocID) {
    self.doc = doc
    self.channels = []
    self.scores = SIMD16()
  }

  /// A candidate first recalled by `channel` with `score`: what `init(doc:)` then `add` give, with
  /// no read of the zeroed lane (a set of several channels records no score).
  @inlinable @inline(__always) public init(doc: DocID, channel: ChannelSet, score: Float) {
    self.doc = doc
    self.channels = channel
    self.scores = SIMD16()
    if channel.rawValue.nonzeroBitCount == 1 { scores[channel.rawValue.trailingZeroBitCount] = max(0, score) }
  }

  /// Records that `channel` recalled this item with `score`, keeping the best score per channel.
  /// A set of several channels is recorded as recalling it, with no score.
  @inlinable public mutating func add(_ channel: ChannelSet, score: Float) {
    channels.insert(channel)
    guard channel.rawValue.nonzeroBitCount == 1 else { return }
    let bit = channel.rawValue.trailingZeroBitCount
    scores[bit] = max(scores[bit], score)
  }

  /// The best score of the single channel `channel` (0 if it did not recall the item).
  @inlinable public func score(of channel: ChannelSet) -> Float {
    channel.rawValue.nonzeroBitCount == 1 ? scores[channel.rawValue.trailingZeroBitCount] : 0
  }

  // The kept recall scores by channel kind (ranking features), at their channel's bit.
  @inlinable public var popularScore: Float { get { scores[0] } set { scores[0] = newValue } }
  @inlinable public var categoryScore: Float { get { scores[1] } set { scores[1] = newValue } }
  @inlinable public var similarScore: Float { get { scores[2] } set { scores[2] = newValue } }
  @inlinable public var textScore: Float { get { scores[3] } set { scores[3] = newValue } }
  @inlinable public var ruleScore: Float { get { scores[4] } set { scores[4] = newValue } }
  @inlinable public var repeatScore: Float { get { scores[5] } set { scores[5] = newValue } }
  @inlinable public var trendingScore: Float { get { scores[6] } set { scores[6] = newValue } }
  @inlinable public var vectorScore: Float { get { scores[7] } set { scores[7] = newValue } }
  @inlinable public var swingScore: Float { get { scores[8] } set { scores[8] = newValue } }
  @inlinable public var sessionScore: Float { get { scores[9] } set { scores[9] = newValue } }
  @inlinable public var userCFScore: Float { get { scores[10] } set { scores[10] = newValue } }
  @inlinable public var factorsScore: Float { get { scores[11] } set { scores[11] = newValue } }
}
