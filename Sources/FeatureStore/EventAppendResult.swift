import FunnelCore

/// The outcome of appending a batch of events.
public struct EventAppendResult: Hashable, Sendable {
  /// Events stored for the first time.
  public var accepted: Int
  /// Events whose id had been stored before (changed nothing).
  public var duplicates: Int
  /// Positions in the appended batch of the duplicates, ascending, when the sink tells them apart
  /// (the dashboard's indicators count first sightings only); empty when none were, or when the
  /// sink cannot tell (then `duplicates` is still right).
  public var duplicateIndices: [Int]

  /// Creates a result.
  public init(accepted: Int, duplicates: Int, duplicateIndices: [Int] = []) {
    self.accepted = accepted
    self.duplicates = duplicates
    self.duplicateIndices = duplicateIndices
  }

  /// Whether the sink named every duplicate (`duplicateIndices` is complete).
  public var namesDuplicates: Bool { duplicateIndices.count == duplicates }
}
