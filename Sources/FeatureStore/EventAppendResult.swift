import FunnelCore

/// The outcome of appending a batch of events.
public struct EventAppendResult: Hashable, Sendable {
  /// Events stored for the first time.
  public var accepted: Int
  /// Events whose id had been stored before (changed nothing).
  public var duplicates: Int

  /// Creates a result.
  public init(accepted: Int, duplicates: Int) {
    self.accepted = accepted
    self.duplicates = duplicates
  }
}
