import FunnelCore
import IndexFormat

/// User-based CF recall: the list the build made for this user (what the users most like them
/// bought, which they had not), best first. Nothing for a user the build did not know.
public struct UserCFRecall: RecallChannel {
  public init() {}
  public var channel: ChannelSet { .userCF }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    guard let users = generation.users, let row = request.userRow, quota > 0 else { return }
    for (doc, score) in users.list(row).prefix(quota) { collector.add(doc, channel: .userCF, score: score) }
  }
}
