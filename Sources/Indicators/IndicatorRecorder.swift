import FunnelCore
import Synchronization

/// Turns what the server accepts into indicator increments, as it arrives: orders (counts and
/// amounts per state, units, customers, each by country, traffic source and category; the top
/// lists), behaviour events (the view -> click -> cart -> purchase funnel; attributed to the
/// recommendation scene and experiment arm whose answer led to them), answers shown (impressions),
/// and whatever else calls `add` (service health). Increments wait here until `drain` hands them
/// to a `RollupStore` (the indicator service does, several times a second). At most `maxPending`
/// increments wait: past that (the store is down), new ones are dropped and counted in `dropped`.
/// Thread-safe; each call holds a lock for O(its input).
public final class IndicatorRecorder: Sendable {
  private struct State {
    var tally = IndicatorTally()
    var adds = 0
    var dropped = 0
  }
  private let state = Mutex(State())
  /// Largest number of increments kept waiting.
  public let maxPending: Int

  /// A recorder keeping at most `maxPending` increments.
  public init(maxPending: Int = 1_000_000) { self.maxPending = maxPending }

  /// Increments dropped so far because too many were waiting.
  public var dropped: Int { state.withLock { $0.dropped } }

  /// The waiting increments, leaving none.
  public func drain() -> IndicatorTally {
    state.withLock { s in
      defer { s.tally = IndicatorTally(); s.adds = 0 }
      return s.tally
    }
  }

  /// Puts back increments a store failed to take (so a short outage loses nothing), within `maxPending`.
  public func restore(_ tally: IndicatorTally) {
    let size = tally.entryCount
    state.withLock { s in
      guard s.adds + size <= maxPending else { s.dropped += size; return }
      s.tally.merge(tally)
      s.adds += size
    }
  }

  /// Adds `value` to `field` at Unix second `second` (service health and other counters).
  public func add(_ field: String, _ value: Double, at second: Int64) {
    commit { $0.add(field, value, at: second) }
  }

  /// Records accepted order changes. `factor` converts an order's amounts to the reporting
  /// currency; `category` names a line's category. O(orders x lines).
  public func record(orders: [OrderEvent], factor: (OrderEvent) -> Double, category: (OrderLine) -> String) {
    var local = IndicatorTally()
    for order in orders { Self.tally(order, factor: factor(order), category: category, into: &local) }
    commit { $0.merge(local) }
  }

  /// Records behaviour events stored for the first time. `category` names an item's category (nil:
  /// unknown); `attribution` names the scene and arm of the answer an event's `requestID` names
  /// (nil: not an answer of Funnel's, or too old). O(events).
  public func record(events: [BehaviourEvent], category: (ItemID) -> String?,
                     attribution: (String) -> AnswerOrigin?) {
    var local = IndicatorTally()
    for event in events where event.kind != .exposure {
      let second = event.timestampMs / 1000
      let metric = "events." + event.kind.rawValue
      local.add(metric, 1, at: second)
      local.add(IndicatorField.name(metric, "category", category(event.itemID) ?? ""), 1, at: second)
      let revenue = event.kind == .purchase ? Double(event.quantity) * event.price : 0
      if event.kind == .purchase { local.add("events.revenue", revenue, at: second) }
      guard !event.requestID.isEmpty, let origin = attribution(event.requestID) else { continue }
      let outcome: String
      switch event.kind {
      case .click: outcome = "rec.clicks"
      case .addToCart: outcome = "rec.carts"
      case .purchase: outcome = "rec.purchases"
      case .view, .exposure: continue
      }
      local.add(outcome, 1, at: second)
      local.add(origin.field(outcome), 1, at: second)
      if event.kind == .purchase {
        local.add("rec.revenue", revenue, at: second)
        local.add(origin.field("rec.revenue"), revenue, at: second)
        local.add(origin.field("rec.revenue_sq"), revenue * revenue, at: second)
      }
    }
    commit { $0.merge(local) }
  }

  /// Records an answer shown: one answer of `items` items for `origin`, at Unix ms `timestampMs`.
  public func recordAnswer(_ origin: AnswerOrigin, items: Int, timestampMs: Int64) {
    let second = timestampMs / 1000
    commit { tally in
      tally.add("rec.answers", 1, at: second)
      tally.add("rec.impressions", Double(items), at: second)
      tally.add(origin.field("rec.answers"), 1, at: second)
      tally.add(origin.field("rec.impressions"), Double(items), at: second)
    }
  }

  private func commit(_ change: (inout IndicatorTally) -> Void) {
    state.withLock { s in
      var added = IndicatorTally()
      change(&added)
      let size = added.entryCount
      guard s.adds + size <= maxPending else { s.dropped += size; return }
      s.tally.merge(added)
      s.adds += size
    }
  }

  /// The increments of one order change. Exposed for tests that compute indicators independently.
  static func tally(_ order: OrderEvent, factor: Double, category: (OrderLine) -> String, into t: inout IndicatorTally) {
    let second = order.timestampMs / 1000
    let state = order.state.rawValue
    let amount = order.amount * factor
    let country = IndicatorField.clean(order.country), source = IndicatorField.clean(order.source)
    for metric in ["orders." + state, "amount." + state] {
      let value = metric.hasPrefix("orders.") ? 1 : amount
      t.add(metric, value, at: second)
      t.add(metric + "|country=" + country, value, at: second)
      t.add(metric + "|source=" + source, value, at: second)
    }
    // An order counts once in each category it has lines in; the category's amount is its lines'.
    var categories: [String: (amount: Double, units: Double)] = [:]
    var orderCategories: [String] = []
    for line in order.lines {
      let name = IndicatorField.clean(category(line))
      if categories[name] == nil { orderCategories.append(name) }
      categories[name, default: (0, 0)].amount += line.amount * factor
      categories[name, default: (0, 0)].units += Double(line.quantity)
    }
    for name in orderCategories {
      let totals = categories[name]!
      t.add("orders." + state + "|category=" + name, 1, at: second)
      t.add("amount." + state + "|category=" + name, totals.amount, at: second)
    }
    guard order.state == .paid else { return }
    let units = Double(order.units)
    t.add("units", units, at: second)
    t.add("units|country=" + country, units, at: second)
    t.add("units|source=" + source, units, at: second)
    for name in orderCategories {
      let totals = categories[name]!
      t.add("units|category=" + name, totals.units, at: second)
      t.addTop("category|" + name, totals.amount, at: second)
    }
    for line in order.lines { t.addTop("item|" + line.itemID, line.amount * factor, at: second) }
    t.customers.append(CustomerMark(customer: order.customerID, second: second,
                                    dimensions: ["country=" + country, "source=" + source] + orderCategories.map { "category=" + $0 }))
  }
}

/// The scene and experiment arm of an answer Funnel gave, which later events attribute to.
public struct AnswerOrigin: Sendable, Hashable {
  public var scene: String
  /// `experiment:arm`, or `default` outside experiments.
  public var arm: String

  /// Creates an origin.
  public init(scene: String, arm: String) {
    self.scene = scene
    self.arm = arm.isEmpty ? "default" : arm
  }

  /// `metric|scene=S|arm=A`.
  public func field(_ metric: String) -> String {
    IndicatorField.name(metric, [("scene", scene), ("arm", arm)])
  }
}
