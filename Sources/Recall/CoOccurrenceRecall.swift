import FunnelCore
import IndexFormat

/// Item-to-item recall from one of the generation's other neighbour tables: Swing (items bought
/// together by otherwise dissimilar users) or session co-occurrence (items in the same visits).
/// The seeds' rows are summed as `SimilarItemsRecall` sums ItemCF's. Nothing when the generation
/// has no such table (built before it, or without history).
public struct CoOccurrenceRecall: RecallChannel {
  /// `.swing` or `.session`.
  public let channel: ChannelSet
  /// A channel over the table of `channel` (`.swing` or `.session`; any other recalls nothing).
  public init(_ channel: ChannelSet) { self.channel = channel }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    let table: NeighbourTable?
    switch channel {
    case .swing: table = generation.swing
    case .session: table = generation.sessions
    default: table = nil
    }
    guard let table else { return }
    SimilarItemsRecall.recall(table, as: channel, request, in: generation, quota: quota, into: &collector)
  }
}
