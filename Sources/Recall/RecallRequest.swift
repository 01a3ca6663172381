import Bitmaps
import FunnelCore

/// What the recall channels know about one request, resolved to doc ids of the current generation.
public struct RecallRequest: Sendable {
  /// Seeds for item-to-item recall with their weights (anchors ~1, recent history decayed).
  public var seeds: [(doc: DocID, weight: Float)]
  /// Category keys (of the generation's items file) the user likes, with affinity weights.
  public var categoryAffinity: [(category: UInt32, weight: Float)]
  /// Tokenised query terms (search); empty for recommendations.
  public var queryTerms: [String]
  /// The user's past purchases with recency weights (best = 1), for the repeat-purchase channel.
  public var purchases: [(doc: DocID, weight: Float)] = []
  /// When set, the text channel recalls only these documents (a search's match set: every word of
  /// the query), scoring them by BM25 over all the query's terms.
  public var textWithin: RoaringBitmap?
  /// Names `textWithin` in the text match cache's key (two searches with the same terms but
  /// different match sets, e.g. after relaxation, must not share an entry); empty without it.
  public var textWithinKey = ""
  /// The user's row in the generation's users file (`UserTable`), when the build knew them.
  public var userRow: Int?
  /// The user's learned factors (from that row), when the build had factors for them.
  public var userFactors: [Float]?

  /// Creates a request; every part may be empty.
  public init(seeds: [(doc: DocID, weight: Float)] = [], categoryAffinity: [(category: UInt32, weight: Float)] = [],
              queryTerms: [String] = []) {
    self.seeds = seeds
    self.categoryAffinity = categoryAffinity
    self.queryTerms = queryTerms
  }
}

/// Merges candidates from several channels, de-duplicating by doc id and keeping every channel's
/// best score. Appends are O(1) amortised. Not thread-safe: one per request.
public struct CandidateCollector: Sendable {
  /// The merged candidates, in first-recalled order.
  public private(set) var candidates: [Candidate] = []
  private var position: DocPositionTable
  /// Offers per single channel, by the channel's bit: held inline (a vector, not an array), so
  /// counting an offer is one add with no uniqueness check or hashing.
  private var offered = SIMD16<Int>()
  /// Offers made under a set of several channels at once (not done by the built-in channels).
  private var offeredBySet: [ChannelSet: Int] = [:]

  /// Candidates each channel offered before de-duplication, by channel.
  public var offeredByChannel: [ChannelSet: Int] {
    var counts = offeredBySet
    for bit in 0..<offered.scalarCount where offered[bit] > 0 {
      counts[ChannelSet(rawValue: 1 << bit), default: 0] += offered[bit]
    }
    return counts
  }

  /// Candidates the single channel `channel` offered before de-duplication. O(1).
  public func offered(by channel: ChannelSet) -> Int {
    channel.rawValue.nonzeroBitCount == 1 ? offered[channel.rawValue.trailingZeroBitCount] : offeredBySet[channel, default: 0]
  }

  /// An empty collector sized for about `capacity` candidates.
  public init(capacity: Int = 1_024) {
    candidates.reserveCapacity(capacity)
    position = DocPositionTable(capacity: capacity)
  }

  /// Adds `doc` as recalled by `channel` with `score`.
  @inline(__always) public mutating func add(_ doc: DocID, channel: ChannelSet, score: Float) {
    if channel.rawValue.nonzeroBitCount == 1 {
      offered[channel.rawValue.trailingZeroBitCount] &+= 1
    } else {
      countOfferUnderSet(channel)
    }
    if let i = position.positionOrInsert(doc, position: candidates.count) {
      candidates[i].add(channel, score: score)
    } else {
      candidates.append(Candidate(doc: doc, channel: channel, score: score))
    }
  }

  /// Counts an offer under a set of several channels: out of line, so that the dictionary update
  /// (and its default-value closure) does not weigh on every single-channel add.
  @usableFromInline @inline(never) mutating func countOfferUnderSet(_ channels: ChannelSet) {
    offeredBySet[channels, default: 0] += 1
  }

  /// Whether `doc` is already a candidate.
  public func contains(_ doc: DocID) -> Bool { position.position(of: doc) != nil }
}
