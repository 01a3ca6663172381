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
  private var position: [DocID: Int] = [:]
  /// Candidates each channel offered before de-duplication, by channel.
  public private(set) var offeredByChannel: [ChannelSet: Int] = [:]

  /// An empty collector sized for about `capacity` candidates.
  public init(capacity: Int = 1_024) {
    candidates.reserveCapacity(capacity)
    position.reserveCapacity(capacity)
  }

  /// Adds `doc` as recalled by `channel` with `score`.
  public mutating func add(_ doc: DocID, channel: ChannelSet, score: Float) {
    offeredByChannel[channel, default: 0] += 1
    if let i = position[doc] {
      candidates[i].add(channel, score: score)
    } else {
      var candidate = Candidate(doc: doc)
      candidate.add(channel, score: score)
      position[doc] = candidates.count
      candidates.append(candidate)
    }
  }

  /// Whether `doc` is already a candidate.
  public func contains(_ doc: DocID) -> Bool { position[doc] != nil }
}
