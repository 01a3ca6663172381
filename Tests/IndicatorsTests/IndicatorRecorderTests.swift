import FunnelCore
import Indicators
import Testing

struct IndicatorRecorderTests {
  @Test func eventsFeedTheFunnelAndAttributedOnesTheirSceneAndArm() {
    let recorder = IndicatorRecorder()
    let origin = AnswerOrigin(scene: "home", arm: "ranker:b")
    recorder.recordAnswer(origin, items: 10, timestampMs: 1_000_000)
    let events = [
      BehaviourEvent(eventID: "1", userID: "u", itemID: "A", kind: .view, timestampMs: 1_000_000),
      BehaviourEvent(eventID: "2", userID: "u", itemID: "A", kind: .click, timestampMs: 1_000_100, requestID: "r1"),
      BehaviourEvent(eventID: "3", userID: "u", itemID: "A", kind: .purchase, timestampMs: 1_000_200, quantity: 2, price: 3, requestID: "r1"),
      BehaviourEvent(eventID: "4", userID: "u", itemID: "B", kind: .click, timestampMs: 1_000_300, requestID: "unknown"),
    ]
    recorder.record(events: events, category: { $0 == "A" ? "mugs" : nil }) { $0 == "r1" ? origin : nil }
    var sums: [String: Double] = [:]
    for fields in recorder.drain().fields.values { sums.merge(fields, uniquingKeysWith: +) }
    #expect(sums["events.view"] == 1 && sums["events.click"] == 2 && sums["events.purchase"] == 1)
    #expect(sums["events.click|category=mugs"] == 1 && sums["events.click|category=unknown"] == 1)
    #expect(sums["events.revenue"] == 6)
    #expect(sums["rec.clicks"] == 1, "the click naming an unknown answer is not attributed")
    #expect(sums["rec.impressions|scene=home|arm=ranker:b"] == 10)
    #expect(sums["rec.clicks|scene=home|arm=ranker:b"] == 1)
    #expect(sums["rec.revenue|scene=home|arm=ranker:b"] == 6)
    #expect(sums["rec.revenue_sq|scene=home|arm=ranker:b"] == 36)
    #expect(recorder.drain().isEmpty)
  }

  @Test func pendingIncrementsAreBoundedAndTheRestCounted() {
    let recorder = IndicatorRecorder(maxPending: 10)
    for i in 0..<20 { recorder.add("f\(i)", 1, at: 0) }
    #expect(recorder.drain().entryCount == 10)
    #expect(recorder.dropped == 10)
  }

  @Test func dimensionValuesFromClientsAreCleaned() {
    #expect(IndicatorField.clean("a|b=c\u{7}") == "a_b_c_")
    #expect(IndicatorField.clean("") == "unknown")
    #expect(IndicatorField.clean(String(repeating: "é", count: 100)).utf8.count <= 64)
    #expect(IndicatorField.overflow("orders.paid|country=GB|source=x") == "orders.paid|country=other|source=other")
    let (metric, dims) = IndicatorField.parse("rec.clicks|scene=home|arm=a:b")
    #expect(metric == "rec.clicks" && dims.map(\.0) == ["scene", "arm"] && dims.map(\.1) == ["home", "a:b"])
  }

  @Test func wilsonIntervalsMatchHandComputedValues() {
    // 10 of 100 at 95%: the textbook value is [0.0552, 0.1744].
    let ci = ConfidenceInterval.wilson(successes: 10, trials: 100)
    #expect(abs(ci.low - 0.05523) < 1e-4 && abs(ci.high - 0.17437) < 1e-4)
    let none = ConfidenceInterval.wilson(successes: 0, trials: 50)
    #expect(none.low < 1e-12 && abs(none.high - 0.07135) < 1e-4)
    // Mean of 1, 2, 3 (sum 6, squares 14) over 3: sd 1, half-width 1.96 / sqrt(3).
    let mean = ConfidenceInterval.mean(sum: 6, sumOfSquares: 14, n: 3)
    #expect(abs(mean.low - (2 - 1.959964 / 3.0.squareRoot())) < 1e-5)
  }

  @Test func recommendationRowsCarryRatesAndIntervals() {
    let rows = IndicatorBoard.recommendations([
      "rec.impressions|scene=home|arm=default": 1_000, "rec.clicks|scene=home|arm=default": 50,
      "rec.purchases|scene=home|arm=default": 5, "rec.revenue|scene=home|arm=default": 100,
      "rec.revenue_sq|scene=home|arm=default": 2_000, "rec.impressions|scene=cart|arm=default": 10,
    ])
    #expect(rows.map(\.scene) == ["home", "cart"])
    let home = rows[0]
    #expect(home.ctr == 0.05 && home.ctrLow < 0.05 && home.ctrHigh > 0.05)
    #expect(home.conversion == 0.005)
    #expect(home.revenuePerMille == 100)
    #expect(home.revenuePerMilleLow < 100 && home.revenuePerMilleHigh > 100)
  }

  @Test func theFunnelsRatesArePerPreviousStep() {
    let steps = IndicatorBoard.funnel(["events.view": 100, "events.click": 20, "events.add_to_cart": 5, "events.purchase": 0])
    #expect(steps.map(\.rate) == [1, 0.2, 0.25, 0])
  }
}
