import FunnelCore

/// One interaction of a user with an item, as kept in the real-time profile.
public struct RecentInteraction: Hashable, Sendable {
  public var itemID: ItemID
  public var kind: EventKind
  /// Unix ms.
  public var timestampMs: Int64

  /// Creates an interaction.
  public init(itemID: ItemID, kind: EventKind, timestampMs: Int64) {
    self.itemID = itemID
    self.kind = kind
    self.timestampMs = timestampMs
  }
}
