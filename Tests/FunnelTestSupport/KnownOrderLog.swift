import FunnelCore
import Indicators
#if canImport(Glibc)
import Glibc
#endif

/// A seeded order log for indicator tests: orders created, then paid or cancelled, some paid ones
/// refunded, a few changes delivered twice (the feed is at-least-once), over several minutes, with
/// customers returning, guests, countries, traffic sources and categories; beside each order a
/// shopper's session (an answer shown for a scene and arm, views, clicks and carts naming it or not,
/// the purchase events of a paid order). Amounts in quarters, so every sum is exact in binary
/// floating point. `expected` computes the indicators from the log on
/// its own, without the recorder or a store, for the tests to compare with.
public struct KnownOrderLog: Sendable {
  public var changes: [OrderEvent] = []
  /// Answers shown (request id, scene, arm, items, Unix ms) and behaviour events, some naming an answer.
  public var answers: [(requestID: String, origin: AnswerOrigin, items: Int, timestampMs: Int64)] = []
  public var events: [BehaviourEvent] = []
  public static let categories = ["kitchen", "garden", "toys", "books"]

  /// `orders` orders from `startMs`, about one every 1.5 s.
  public init(seed: UInt64, orders: Int, startMs: Int64) {
    var rng = SplitMix64(seed: seed)
    let countries = ["GB", "DE", "FR", ""], sources = ["search", "recommendation", "email", ""]
    for i in 0..<orders {
      let at = startMs + Int64(i) * 1_500 + Int64(rng.next() % 1_000)
      let customer = rng.next() % 10 == 0 ? "" : "C\(rng.next() % UInt64(max(1, orders / 3)))"
      var lines: [OrderLine] = []
      for l in 0..<(1 + Int(rng.next() % 3)) {
        let price = Double(1 + rng.next() % 400) / 4
        lines.append(OrderLine(itemID: "SKU-\(rng.next() % 40)", quantity: UInt32(1 + rng.next() % 3), unitPrice: price,
                               category: Self.categories[(i + l) % Self.categories.count]))
      }
      let amount = lines.reduce(0) { $0 + $1.amount }
      let base = OrderEvent(orderID: "O\(i)", state: .created, customerID: customer, amount: amount, currency: "GBP", lines: lines,
                            country: countries[Int(rng.next() % 4)], source: sources[Int(rng.next() % 4)], timestampMs: at)
      changes.append(base)
      var next = base
      next.timestampMs = at + 500
      next.state = rng.next() % 5 == 0 ? .cancelled : .paid
      changes.append(next)
      if rng.next() % 7 == 0 { changes.append(next) }
      // A shopper's session: an answer shown, views, perhaps a click and a cart naming the answer,
      // and the purchase events of a paid order.
      let origin = AnswerOrigin(scene: ["home", "cart", "item_page"][i % 3], arm: i % 4 == 0 ? "ranker:b" : "")
      answers.append((requestID: "R\(i)", origin: origin, items: 10, timestampMs: at - 2_000))
      for (k, line) in lines.enumerated() {
        let viaAnswer = rng.next() % 2 == 0 ? "R\(i)" : (rng.next() % 5 == 0 ? "unknown-\(i)" : "")
        events.append(BehaviourEvent(eventID: "V\(i)-\(k)", userID: "U\(i)", itemID: line.itemID, kind: .view, timestampMs: at - 1_500))
        events.append(BehaviourEvent(eventID: "K\(i)-\(k)", userID: "U\(i)", itemID: line.itemID, kind: .click, timestampMs: at - 1_000,
                                     requestID: viaAnswer))
        if rng.next() % 3 != 0 {
          events.append(BehaviourEvent(eventID: "A\(i)-\(k)", userID: "U\(i)", itemID: line.itemID, kind: .addToCart,
                                       timestampMs: at - 500, requestID: viaAnswer))
        }
        if next.state == .paid {
          events.append(BehaviourEvent(eventID: "P\(i)-\(k)", userID: "U\(i)", itemID: line.itemID, kind: .purchase,
                                       timestampMs: at + 500, quantity: line.quantity, price: line.unitPrice, requestID: viaAnswer))
        }
      }
      if next.state == .paid, rng.next() % 6 == 0 {
        var refund = next
        refund.state = .refunded
        refund.amount = Double(1 + rng.next() % Swift.max(1, UInt64(amount * 4))) / 4
        refund.timestampMs = at + 900
        changes.append(refund)
      }
    }
  }

  /// The changes that count (the first of each order id and state), in log order.
  public var firstSightings: [OrderEvent] {
    var seen: Set<String> = []
    return changes.filter { seen.insert($0.orderID + "/" + $0.state.rawValue).inserted }
  }

  /// Every field of the minute rollups (with dimensions), computed from the log directly.
  public func expectedMinutes() -> [Int64: [String: Double]] {
    var out: [Int64: [String: Double]] = [:]
    var customers: Set<String> = []
    func add(_ second: Int64, _ field: String, _ value: Double) {
      out[second - ((second % 60) + 60) % 60, default: [:]][field, default: 0] += value
    }
    for o in firstSightings {
      let s = o.timestampMs / 1000
      let country = o.country.isEmpty ? "unknown" : o.country, source = o.source.isEmpty ? "unknown" : o.source
      add(s, "orders.\(o.state.rawValue)", 1)
      add(s, "amount.\(o.state.rawValue)", o.amount)
      for dim in ["country=\(country)", "source=\(source)"] {
        add(s, "orders.\(o.state.rawValue)|\(dim)", 1)
        add(s, "amount.\(o.state.rawValue)|\(dim)", o.amount)
      }
      var byCategory: [String: (Double, Double)] = [:]
      for line in o.lines {
        byCategory[line.category, default: (0, 0)].0 += line.amount
        byCategory[line.category, default: (0, 0)].1 += Double(line.quantity)
      }
      for (category, (amount, units)) in byCategory {
        add(s, "orders.\(o.state.rawValue)|category=\(category)", 1)
        add(s, "amount.\(o.state.rawValue)|category=\(category)", amount)
        if o.state == .paid { add(s, "units|category=\(category)", units) }
      }
      guard o.state == .paid else { continue }
      let units = Double(o.lines.reduce(0) { $0 + Int($1.quantity) })
      add(s, "units", units)
      add(s, "units|country=\(country)", units)
      add(s, "units|source=\(source)", units)
      let new = o.customerID.isEmpty || customers.insert(o.customerID).inserted
      let metric = new ? "customers.new" : "customers.returning"
      add(s, metric, 1)
      for dim in ["country=\(country)", "source=\(source)"] + byCategory.keys.map({ "category=\($0)" }) { add(s, "\(metric)|\(dim)", 1) }
    }
    let origins = Dictionary(answers.map { ($0.requestID, $0.origin) }, uniquingKeysWith: { a, _ in a })
    for a in answers {
      let s = a.timestampMs / 1000
      for prefix in ["rec.answers", "rec.impressions"] {
        let value = prefix == "rec.answers" ? 1.0 : Double(a.items)
        add(s, prefix, value)
        add(s, "\(prefix)|scene=\(a.origin.scene)|arm=\(a.origin.arm)", value)
      }
    }
    for e in events {
      let s = e.timestampMs / 1000
      add(s, "events.\(e.kind.rawValue)", 1)
      add(s, "events.\(e.kind.rawValue)|category=\(Self.category(of: e.itemID))", 1)
      let revenue = Double(e.quantity) * e.price
      if e.kind == .purchase { add(s, "events.revenue", revenue) }
      guard let origin = origins[e.requestID] else { continue }
      let metric = e.kind == .click ? "rec.clicks" : e.kind == .addToCart ? "rec.carts" : e.kind == .purchase ? "rec.purchases" : ""
      guard !metric.isEmpty else { continue }
      let dims = "|scene=\(origin.scene)|arm=\(origin.arm)"
      add(s, metric, 1)
      add(s, metric + dims, 1)
      if e.kind == .purchase {
        add(s, "rec.revenue", revenue)
        add(s, "rec.revenue" + dims, revenue)
        add(s, "rec.revenue_sq" + dims, revenue * revenue)
      }
    }
    return out
  }

  /// The catalog's category of an item in the log (the events' items have one; the orders name theirs).
  public static func category(of item: ItemID) -> String {
    categories[(Int(item.dropFirst(4)) ?? 0) % categories.count]
  }

  /// Paid amount by item over the whole log, best first.
  public func expectedTopItems() -> [(key: String, score: Double)] {
    var sums: [String: Double] = [:]
    for o in firstSightings where o.state == .paid { for line in o.lines { sums[line.itemID, default: 0] += line.amount } }
    return sums.map { (key: $0.key, score: $0.value) }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.key < $1.key }
  }
}

extension KnownOrderLog {
  /// Records the log through a recorder as the server does (`ledger` drops repeated order changes;
  /// the sessions' answers and events go in once, as the event sink passes first sightings only,
  /// unless `sessions` is false) and applies it to `store` in `chunks` tallies.
  public func replay(into store: any RollupStore, ledger: any OrderLedger = MemoryOrderLedger(), chunks: Int = 7,
                     sessions: Bool = true) async throws {
    let recorder = IndicatorRecorder()
    if sessions {
      let recent = RecentAnswers()
      for a in answers {
        recorder.recordAnswer(a.origin, items: a.items, timestampMs: a.timestampMs)
        recent.remember(a.requestID, a.origin)
      }
      recorder.record(events: events, category: { Self.category(of: $0) }) { recent.origin(of: $0) }
      try await store.apply(recorder.drain())
    }
    let size = (changes.count + chunks - 1) / chunks
    for start in stride(from: 0, to: changes.count, by: size) {
      let chunk = Array(changes[start..<min(changes.count, start + size)])
      let fresh = try await ledger.admit(chunk.map(\.ledgerKey))
      recorder.record(orders: zip(chunk, fresh).filter(\.1).map(\.0), factor: { _ in 1 }, category: \.category)
      try await store.apply(recorder.drain())
    }
  }

  /// Where `store`'s rollups differ from the log's own computation: every field of every minute,
  /// the seconds' totals summed per minute, the hours, the top items. Empty when they agree.
  public func differences(in store: any RollupStore) async throws -> [String] {
    var out: [String] = []
    let expected = expectedMinutes()
    guard let first = expected.keys.min(), let last = expected.keys.max() else { return ["the log is empty"] }
    let minutes = try await store.buckets(.minute, from: first, through: last, dimensions: true)
    if Set(minutes.keys) != Set(expected.keys) { out.append("minute buckets \(minutes.keys.sorted()) != \(expected.keys.sorted())") }
    for (minute, fields) in expected.sorted(by: { $0.key < $1.key }) {
      for (field, value) in fields.sorted(by: { $0.key < $1.key }) where minutes[minute]?[field] != value {
        out.append("minute \(minute) \(field): \(minutes[minute]?[field].map { "\($0)" } ?? "missing") != \(value)")
      }
      for field in (minutes[minute] ?? [:]).keys.sorted() where fields[field] == nil { out.append("minute \(minute) \(field): unexpected") }
    }
    var perMinute: [Int64: [String: Double]] = [:]
    for (second, fields) in try await store.buckets(.second, from: first, through: last + 59, dimensions: false) {
      if fields.keys.contains(where: IndicatorField.hasDimensions) { out.append("second \(second) holds dimensions") }
      perMinute[second - second % 60, default: [:]].merge(fields, uniquingKeysWith: +)
    }
    for (minute, fields) in expected where perMinute[minute] != fields.filter({ !IndicatorField.hasDimensions($0.key) }) {
      out.append("the seconds of minute \(minute) do not sum to its totals")
    }
    var hours: [String: Double] = [:], all: [String: Double] = [:]
    for (_, fields) in try await store.buckets(.hour, from: first - 3_600, through: last, dimensions: true) {
      hours.merge(fields, uniquingKeysWith: +)
    }
    for fields in expected.values { all.merge(fields, uniquingKeysWith: +) }
    if hours != all { out.append("the hours differ from the minutes' sums") }
    let top = try await store.top("item", from: first, through: last, limit: 10)
    let want = Array(expectedTopItems().prefix(10))
    if top.map(\.key) != want.map(\.key) || top.map(\.score) != want.map(\.score) { out.append("top items \(top) != \(want)") }
    return out
  }
}

/// The system clock in Unix ms, for store tests whose keys expire relative to now.
public enum WallClock {
  public static func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }
}
