/// One live change to the catalog, applied over the serving generation until the next generation
/// folds it in: an item's new state (a new item, or new price, stock or fields of a known one), or
/// its deletion.
public enum CatalogChange: Hashable, Sendable {
  case upsert(CatalogItem)
  case delete(ItemID)

  /// The id of the item the change is about.
  public var itemID: ItemID {
    switch self {
    case .upsert(let item): item.id
    case .delete(let id): id
    }
  }
}

/// A catalog change at its position in the change feed (a Redis stream entry id, `ms-seq`).
public struct CatalogFeedEntry: Hashable, Sendable {
  /// The feed position: later changes have greater positions (`CatalogFeedEntry.precedes`).
  public var position: String
  public var change: CatalogChange

  public init(position: String, change: CatalogChange) {
    self.position = position
    self.change = change
  }

  /// Whether feed position `a` comes before `b` (`ms-seq`, compared as two numbers; an unparsable
  /// position sorts first). O(length).
  public static func precedes(_ a: String, _ b: String) -> Bool {
    func parts(_ s: String) -> (UInt64, UInt64) {
      let p = s.split(separator: "-", maxSplits: 1)
      return (p.first.flatMap { UInt64($0) } ?? 0, p.count > 1 ? UInt64(p[1]) ?? 0 : 0)
    }
    return parts(a) < parts(b)
  }
}
