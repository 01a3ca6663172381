import Alarms
import FunnelCore
import Indicators
import Ingest
import Testing

/// An anomaly rule over the orders of the UCI Online Retail log (../shared/data), replayed with a
/// test clock: the shop's ordinary daily and weekly pattern (no orders on Saturdays, quiet nights,
/// busy late mornings) never fires it; the same weeks with a payment outage (no paid orders for three
/// hours of a weekday) fire it before the outage ends, and it resolves after.
@Suite(.enabled(if: ProcessEnvironment.onlineRetail != nil || ProcessEnvironment.isCI,
                "../shared/data/online_retail/online_retail.csv.gz is missing: the anomaly test replays it"))
struct OnlineRetailAnomalyTests {
  static var dataPath: String? { ProcessEnvironment.onlineRetail }

  /// The log's invoices as paid orders: one per invoice number (cancellations, `C...`, left out),
  /// at the invoice's time. Read from the bytes directly (the invoice is the first field, the date
  /// the fourth from the end): the full ingest cleans far more than this test needs.
  static func orders() throws -> [OrderEvent] {
    let bytes = try CompressedFile.read(path: try #require(dataPath))
    var times: [String: Int64] = [:]
    bytes.withUnsafeBufferPointer { b in
      var start = 0
      // Past the header line.
      while start < b.count, b[start] != 0x0A { start += 1 }
      start += 1
      while start < b.count {
        var end = start
        while end < b.count, b[end] != 0x0A { end += 1 }
        var firstComma = start
        while firstComma < end, b[firstComma] != 0x2C { firstComma += 1 }
        // The date is the fourth field from the end: after the fourth comma counted from the end.
        var commas = 0, dateStart = end
        while dateStart > firstComma, commas < 4 {
          dateStart -= 1
          if b[dateStart] == 0x2C { commas += 1 }
        }
        if b[start] != UInt8(ascii: "C"), commas == 4, end - dateStart > 16 {
          var numbers: [Int] = [], value = 0, inNumber = false
          for i in (dateStart + 1)..<end {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 { value = value * 10 + Int(c - 0x30); inNumber = true } else if inNumber {
              numbers.append(value); value = 0; inNumber = false
              if numbers.count == 5 { break }
            }
          }
          if numbers.count == 5 {
            let at = OnlineRetail.dayStartMs(year: numbers[0], month: numbers[1], day: numbers[2])
              + Int64(numbers[3] * 3_600 + numbers[4] * 60) * 1000
            let invoice = String(decoding: UnsafeBufferPointer(rebasing: b[start..<firstComma]), as: UTF8.self)
            if times[invoice].map({ at < $0 }) ?? true { times[invoice] = at }
          }
        }
        start = end + 1
      }
    }
    return times.map { invoice, at in
      OrderEvent(orderID: invoice, state: .paid, customerID: "", amount: 1, currency: "GBP", lines: [], timestampMs: at)
    }.sorted { $0.timestampMs < $1.timestampMs }
  }

  static let rule = AlarmRule(name: "orders-anomaly", kind: .robustZ, indicator: "orders.paid", windowSeconds: 7_200, threshold: 3.5,
                              historyDays: 6, historyStepDays: 7, minimumHistory: 4, direction: .down, forSeconds: 0)

  /// Replays `orders` from `from` and evaluates the rule every 15 minutes of `evaluateFrom...until`.
  static func run(_ orders: [OrderEvent], evaluateFrom: Int64, until: Int64) async throws -> [(Int64, AlarmTransition.Kind)] {
    let clock = AlarmEngineTests.TestClock()
    clock.withLock { $0 = orders.first!.timestampMs }
    let store = MemoryRollupStore(now: { clock.withLock { $0 } })
    let recorder = IndicatorRecorder()
    let engine = AlarmEngine(rules: [rule], board: IndicatorBoard(store: store), nowMs: evaluateFrom)
    var next = 0
    var out: [(Int64, AlarmTransition.Kind)] = []
    var t = orders.first!.timestampMs / 900_000 * 900_000
    while t <= until {
      let end = next
      var upTo = end
      while upTo < orders.count, orders[upTo].timestampMs <= t { upTo += 1 }
      if upTo > end {
        recorder.record(orders: Array(orders[end..<upTo]), factor: { _ in 1 }, category: { _ in "" })
        next = upTo
      }
      clock.withLock { $0 = t }
      try await store.apply(recorder.drain())
      if t >= evaluateFrom {
        for transition in await engine.evaluate(nowMs: t) { out.append((t, transition.kind)) }
      }
      t += 900_000
    }
    return out
  }

  @Test func theOrdinaryPatternNeverFiresAndAnOutageDoes() async throws {
    try Self.rule.validate(at: "test")
    let all = try Self.orders()
    let from = OnlineRetail.dayStartMs(year: 2011, month: 8, day: 18), evaluateFrom = OnlineRetail.dayStartMs(year: 2011, month: 10, day: 1)
    let until = OnlineRetail.dayStartMs(year: 2011, month: 12, day: 1)
    let window = all.filter { $0.timestampMs >= from && $0.timestampMs < until }
    let ordinary = try await Self.run(window, evaluateFrom: evaluateFrom, until: until)
    #expect(ordinary.isEmpty, "fired on the ordinary pattern at \(ordinary.map { "\($0.0 / 1000) \($0.1)" })")
    // Thursday 2011-11-17, 11:00-14:00 UTC: the payment provider is down, nothing is paid.
    let outageStart = OnlineRetail.dayStartMs(year: 2011, month: 11, day: 17) + 11 * 3_600_000
    let outageEnd = outageStart + 3 * 3_600_000
    let outage = window.filter { !($0.timestampMs >= outageStart && $0.timestampMs < outageEnd) }
    let fired = try await Self.run(outage, evaluateFrom: evaluateFrom, until: until)
    #expect(fired.map(\.1) == [.firing, .resolved], "\(fired.map { "\(($0.0 - outageStart) / 60_000) min \($0.1)" })")
    if let first = fired.first {
      #expect(first.0 > outageStart && first.0 <= outageEnd, "fired \((first.0 - outageStart) / 60_000) min into the outage")
    }
  }
}

/// Whether the suite runs under CI (a missing data set is then a failure, not a skip).
enum ProcessEnvironment {
  static var isCI: Bool { getenv("CI").map { String(cString: $0) == "true" } ?? false }

  /// The Online Retail CSV beside the project (`../shared/data`), if readable.
  static var onlineRetail: String? {
    let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    let path = "/" + root + "/../shared/data/online_retail/online_retail.csv.gz"
    return access(path, R_OK) == 0 ? path : nil
  }
}

#if canImport(Glibc)
import Glibc
#endif
