import FunnelCore
import Synchronization

/// Turns what the server accepts into indicator increments, as it arrives: orders (counts and
/// amounts per state, units, customers, each by country, traffic source and category; the top
/// lists), behaviour events (the view -> click -> cart -> purchase funnel; attributed to the
/// recommendation scene and experiment arm whose answer led to them), answers shown (impressions),
/// and whatever else calls `add` (service health). Increments wait here until `drain` hands them
/// to a `RollupStore` (the indicator service does, several times a second). At most `maxPending`
/// increments wait: past that (the store is down), new ones are dropped and counted in `dropped`.
/// Thread-safe. Answers shown are counted on every Recommend and Search, so `recordAnswer` builds no
/// field names: it adds to a counter per (scene, arm, second), turned into fields by `drain`. The
/// other calls build their increments before taking the lock and hold it for O(their increments).
public final class IndicatorRecorder: Sendable {
  /// Answers and items shown for one scene and arm in one second.
  private struct AnswerKey: Hashable {
    var origin: AnswerOrigin
    var second: Int64
  }
  private struct State {
    var tally = IndicatorTally()
    var answers: [AnswerKey: (answers: Double, items: Double)] = [:]
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
    let (drained, answers) = state.withLock { s in
      defer { s.tally = IndicatorTally(); s.answers = [:]; s.adds = 0 }
      return (s.tally, s.answers)
    }
    var tally = drained
    for (key, count) in answers {
      tally.add("rec.answers", count.answers, at: key.second)
      tally.add("rec.impressions", count.items, at: key.second)
      tally.add(key.origin.field("rec.answers"), count.answers, at: key.second)
      tally.add(key.origin.field("rec.impressions"), count.items, at: key.second)
    }
    return tally
  }

  /// Puts back increments a store failed to take (so a short outage loses nothing), within `maxPending`.
  public func restore(_ tally: IndicatorTally) { commit(tally) }

  /// Adds `value` to `field` at Unix second `second` (service health and other counters).
  public func add(_ field: String, _ value: Double, at second: Int64) {
    var added = IndicatorTally()
    added.add(field, value, at: second)
    commit(added)
  }

  /// Records accepted order changes. `factor` converts an order's amounts to the reporting
  /// currency; `category` names a line's category. O(orders x lines).
  public func record(orders: [OrderEvent], factor: (OrderEvent) -> Double, category: (OrderLine) -> String) {
    var local = IndicatorTally()
    for order in orders { Self.tally(order, factor: factor(order), category: category, into: &local) }
    commit(local)
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
    commit(local)
  }

  /// Records an answer shown: one answer of `items` items for `origin`, at Unix ms `timestampMs`.
  /// O(1): one counter update under the lock (a new (scene, arm, second) counts as 4 increments
  /// against `maxPending`, the fields it becomes).
  public func recordAnswer(_ origin: AnswerOrigin, items: Int, timestampMs: Int64) {
    let key = AnswerKey(origin: origin, second: timestampMs / 1000)
    state.withLock { s in
      if let count = s.answers[key] {
        s.answers[key] = (count.answers + 1, count.items + Double(items))
      } else if s.adds + 4 <= maxPending {
        s.answers[key] = (1, Double(items))
        s.adds += 4
      } else {
        s.dropped += 4
      }
    }
  }

  /// Adds `added` (built by the caller, outside the lock) to the waiting increments, or drops and
  /// counts it when it would pass `maxPending`.
  private func commit(_ added: IndicatorTally) {
    let size = added.entryCount
    state.withLock { s in
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
