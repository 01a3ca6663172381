import FeatureStore
import FunnelCore

/// What happened to one shown item after an exposure.
public struct ItemOutcome: Hashable, Sendable {
  /// Attributed clicks, add-to-carts and purchases of the item.
  public var clicks = 0
  /// See `clicks`.
  public var carts = 0
  /// See `clicks`.
  public var purchases = 0
  /// Sum of quantity x price of attributed purchases.
  public var revenue = 0.0

  /// Nothing happened.
  public init() {}
}

/// An exposure with the outcomes attributed to it, one per shown item (same order as `items`).
public struct AttributedExposure: Hashable, Sendable {
  /// The served list.
  public var exposure: Exposure
  /// Per shown item, in list order.
  public var outcomes: [ItemOutcome]

  /// `exposure` with `outcomes` (one per shown item).
  public init(exposure: Exposure, outcomes: [ItemOutcome]) {
    self.exposure = exposure
    self.outcomes = outcomes
  }

  /// Whether any shown item was clicked / carted / bought.
  public var clicked: Bool { outcomes.contains { $0.clicks > 0 } }
  /// See `clicked`.
  public var carted: Bool { outcomes.contains { $0.carts > 0 } }
  /// See `clicked`.
  public var converted: Bool { outcomes.contains { $0.purchases > 0 } }
  /// Attributed purchase revenue of the list.
  public var revenue: Double { outcomes.reduce(0) { $0 + $1.revenue } }
}

/// Joins later clicks, add-to-carts and purchases to the exposures that led to them.
///
/// An event carrying a request id is attributed to that answer when the answer was for the same
/// user and showed the item; otherwise to the same user's latest exposure showing the item at most
/// `windowMs` before the event. Views and exposures attribute nothing. Each event is attributed to
/// at most one exposure. O(exposures x items + events x log).
public enum Attribution {
  /// Attributes `events` to `exposures`; the result keeps the exposures' order.
  public static func attribute(exposures: [Exposure], events: [BehaviourEvent], windowMs: Int64) -> [AttributedExposure] {
    var result = exposures.map { AttributedExposure(exposure: $0, outcomes: Array(repeating: ItemOutcome(), count: $0.items.count)) }
    var byRequest: [String: Int] = [:]
    struct Key: Hashable { var user: String; var item: String }
    var byUserItem: [Key: [(time: Int64, exposure: Int, position: Int)]] = [:]
    for (i, e) in exposures.enumerated() {
      byRequest[e.requestID] = i
      for (position, item) in e.items.enumerated() {
        byUserItem[Key(user: e.userID, item: item), default: []].append((e.timestampMs, i, position))
      }
    }
    for key in byUserItem.keys { byUserItem[key]!.sort { $0.time < $1.time } }
    for event in events where event.kind == .click || event.kind == .addToCart || event.kind == .purchase {
      var target: (exposure: Int, position: Int)?
      if !event.requestID.isEmpty, let i = byRequest[event.requestID], exposures[i].userID == event.userID,
         let position = exposures[i].items.firstIndex(of: event.itemID) {
        target = (i, position)
      } else if let shown = byUserItem[Key(user: event.userID, item: event.itemID)] {
        // The latest exposure at or before the event, within the window.
        var lo = 0, hi = shown.count
        while lo < hi {
          let mid = (lo + hi) / 2
          if shown[mid].time <= event.timestampMs { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0, event.timestampMs - shown[lo - 1].time <= windowMs { target = (shown[lo - 1].exposure, shown[lo - 1].position) }
      }
      guard let (i, position) = target else { continue }
      switch event.kind {
      case .click: result[i].outcomes[position].clicks += 1
      case .addToCart: result[i].outcomes[position].carts += 1
      default:
        result[i].outcomes[position].purchases += 1
        result[i].outcomes[position].revenue += Double(event.quantity) * event.price
      }
    }
    return result
  }
}
