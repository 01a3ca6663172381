import Experiments
import FeatureStore
import Foundation
import FunnelCore
import Testing

@Suite struct ExperimentPlanTests {
  static let plan = try! ExperimentPlan(experiments: [
    .init(name: "ranker", salt: "s-2026-11", scenes: ["home", "email"],
          arms: [.init(name: "control", share: 0.5), .init(name: "wide", share: 0.3, quotas: ["similar": 600]),
                 .init(name: "diverse", share: 0.2, maxPerCategory: 2)], control: "control"),
    .init(name: "search-boost", salt: "x", scenes: ["search"], arms: [.init(name: "a", share: 1)], control: "a"),
  ])

  @Test func tenThousandUsersSplitWithinOnePercentOfTheShares() {
    var counts: [String: Int] = [:]
    for u in 0..<10_000 { counts[Self.plan.assign(unit: "user-\(u)", scene: "home")!.arm.name, default: 0] += 1 }
    for (arm, share) in [("control", 0.5), ("wide", 0.3), ("diverse", 0.2)] {
      let got = Double(counts[arm] ?? 0) / 10_000
      #expect(abs(got - share) < 0.01, "\(arm): \(got) against \(share)")
    }
  }

  @Test func assignmentsAreStableAcrossPlansAndScenesOfOneExperiment() throws {
    // A "restart": the same configuration parsed again assigns every user the same arm.
    let again = try ExperimentPlan(experiments: Self.plan.experiments)
    for u in 0..<2_000 {
      let unit = "user-\(u)"
      let first = Self.plan.assign(unit: unit, scene: "home")
      #expect(first == again.assign(unit: unit, scene: "home"))
      #expect(first == Self.plan.assign(unit: unit, scene: "email"), "one experiment, one arm per user")
    }
    // Pinned values: a change of the hash would silently reshuffle every running experiment.
    #expect(ExperimentPlan.bucket(salt: "s-2026-11", unit: "user-1") == 2_168_523_854)
    #expect(Self.plan.assign(unit: "u", scene: "item_page") == nil, "no experiment covers item_page")
    #expect(Self.plan.assign(unit: "", scene: "home") == nil, "no unit, no experiment")
    #expect(Self.plan.assign(unit: "q", scene: "search")?.label == "search-boost:a")
  }

  @Test func badPlansAreRefusedNamingTheExperiment() {
    func message(_ experiments: [ExperimentPlan.Experiment]) -> String {
      do { _ = try ExperimentPlan(experiments: experiments); return "" } catch { return "\(error)" }
    }
    let a = ExperimentPlan.Arm(name: "a", share: 0.5)
    #expect(message([.init(name: "e", salt: "s", arms: [a], control: "a")]).contains("sum to 1"))
    #expect(message([.init(name: "e", salt: "s", arms: [a, .init(name: "b", share: 0.5)], control: "z")]).contains("control 'z'"))
    #expect(message([.init(name: "e", salt: "s", arms: [.init(name: "a", share: 1, quotas: ["nope": 1])], control: "a")])
      .contains("unknown quota channel 'nope'"))
    #expect(message([.init(name: "e", salt: "s", scenes: ["home"], arms: [.init(name: "a", share: 1)], control: "a"),
                     .init(name: "f", salt: "t", arms: [.init(name: "a", share: 1)], control: "a")]).contains("covers scene 'home'"))
    #expect(message([.init(name: "e", salt: "s", scenes: ["moon"], arms: [.init(name: "a", share: 1)], control: "a")])
      .contains("unknown scene 'moon'"))
  }
}

@Suite struct AttributionAndReportTests {
  static func exposure(_ id: String, user: String, arm: String, at ms: Int64, items: [String]) -> Exposure {
    Exposure(requestID: id, userID: user, scene: "home", arm: arm, modelVersion: "m", timestampMs: ms, items: items)
  }
  static func event(_ id: String, user: String, item: String, _ kind: EventKind, at ms: Int64, request: String = "",
                    quantity: UInt32 = 1, price: Double = 0) -> BehaviourEvent {
    BehaviourEvent(eventID: id, userID: user, itemID: item, kind: kind, timestampMs: ms, quantity: quantity, price: price,
                   requestID: request)
  }

  @Test func attributesByRequestIDThenByUserAndItemWithinTheWindow() {
    let exposures = [Self.exposure("r1", user: "u1", arm: "e:a", at: 1_000, items: ["A", "B"]),
                     Self.exposure("r2", user: "u1", arm: "e:a", at: 5_000, items: ["B", "C"])]
    let events = [
      Self.event("1", user: "u1", item: "B", .click, at: 6_000, request: "r1"),   // request id wins over recency
      Self.event("2", user: "u1", item: "B", .purchase, at: 7_000, quantity: 2, price: 3),  // latest exposure: r2
      Self.event("3", user: "u1", item: "C", .addToCart, at: 5_000 + 3_601_000),  // outside a 1 h window
      Self.event("4", user: "u2", item: "A", .click, at: 2_000),                  // another user: nothing
      Self.event("5", user: "u1", item: "A", .view, at: 2_000),                   // views attribute nothing
      Self.event("6", user: "u1", item: "A", .click, at: 500),                    // before any exposure
    ]
    let attributed = Attribution.attribute(exposures: exposures, events: events, windowMs: 3_600_000)
    #expect(attributed[0].outcomes[1].clicks == 1 && attributed[0].outcomes[0] == ItemOutcome())
    #expect(attributed[1].outcomes[0].purchases == 1 && attributed[1].outcomes[0].revenue == 6)
    #expect(attributed[1].outcomes[1].carts == 0)
    #expect(attributed[0].clicked && !attributed[0].converted && attributed[1].converted && !attributed[1].clicked)
  }

  /// The report's figures against a computation by hand on the same events.
  @Test func reportEqualsAHandComputation() throws {
    // Control: 400 lists, 40 clicked, 10 bought (revenue 5 each). Treatment: 400 lists, 60 clicked, 20 bought (8 each).
    var exposures: [Exposure] = [], events: [BehaviourEvent] = []
    for (arm, clicks, buys, price) in [("control", 40, 10, 5.0), ("treat", 60, 20, 8.0)] {
      for i in 0..<400 {
        let request = "\(arm)-\(i)", user = "\(arm)-u\(i)"
        exposures.append(Self.exposure(request, user: user, arm: "exp:\(arm)", at: 1_000, items: ["X", "Y"]))
        if i < clicks { events.append(Self.event("c\(request)", user: user, item: "X", .click, at: 2_000, request: request)) }
        if i < buys { events.append(Self.event("p\(request)", user: user, item: "Y", .purchase, at: 3_000, price: price)) }
      }
    }
    let reports = ArmReport.build(Attribution.attribute(exposures: exposures, events: events, windowMs: 86_400_000),
                                  controls: ["exp": "control"])
    #expect(reports.map(\.arm) == ["control", "treat"])
    let (c, t) = (reports[0], reports[1])
    #expect(c.isControl && c.exposures == 400 && t.exposures == 400)
    #expect(c.clickThrough.value == 0.1 && t.clickThrough.value == 0.15)
    // 95% interval by hand: 0.15 +- 1.96 * sqrt(0.15 * 0.85 / 400) = 0.15 +- 0.034993
    #expect(abs(t.clickThrough.low - 0.115007) < 1e-6 && abs(t.clickThrough.high - 0.184993) < 1e-6)
    // Pooled z by hand: p = 100/800 = 0.125; se = sqrt(0.125 * 0.875 * (2/400)) = 0.0233854; z = 0.05 / se = 2.13809
    let z = try #require(t.clickThrough.z)
    #expect(abs(z - 2.13809) < 1e-4)
    #expect(abs(try #require(t.clickThrough.pValue) - 0.032509) < 1e-5)
    #expect(c.clickThrough.z == nil)
    #expect(c.conversion.value == 0.025 && t.conversion.value == 0.05)
    // Revenue per exposure: control 50/400 = 0.125, treatment 160/400 = 0.4.
    #expect(c.revenuePerExposure.value == 0.125 && t.revenuePerExposure.value == 0.4 && t.revenue == 160)
    // Sample variance of treatment: (20 * 64 - 400 * 0.16) / 399 = 3.047619; half-width 1.96 * sqrt(v / 400) = 0.171082
    #expect(abs(t.revenuePerExposure.high - 0.4 - 0.171082) < 1e-5)
    #expect(t.addToCart.successes == 0 && t.addToCart.value == 0)
  }

  @Test func exposuresRoundTripThroughThePackedForm() {
    let e = Exposure(requestID: "r", userID: "u", sessionID: "s", scene: "home", arm: "e:a", modelVersion: "m1",
                     timestampMs: 42, items: ["A", "B"], featureNames: ["f1", "f2"], features: [[1, .nan], [3, 4]])
    let decoded = PackedExposure.decode(PackedExposure.encode(e))
    #expect(decoded?.items == ["A", "B"] && decoded?.featureNames == ["f1", "f2"] && decoded?.features[1] == [3, 4])
    #expect(decoded?.features[0][1].isNaN == true && decoded?.arm == "e:a" && decoded?.timestampMs == 42)
    #expect(PackedExposure.decode(Array(PackedExposure.encode(e).dropLast())) == nil)
    var withChannels = e
    withChannels.channels = ["similar", "popular"]
    withChannels.latencyMicros = 1_234_567
    withChannels.degraded = true
    let back = PackedExposure.decode(PackedExposure.encode(withChannels))
    #expect(back?.channels == ["similar", "popular"] && back?.latencyMicros == 1_234_567 && back?.degraded == true)
    // Version 1 (written before channels were logged) still reads: the same bytes without the
    // channel count, with version byte 1.
    var v1 = Array(PackedExposure.encode(e).dropLast(7))
    v1[0] = 1
    let old = PackedExposure.decode(v1)
    #expect(old?.items == e.items && old?.features[1] == [3, 4] && old?.requestID == "r" && old?.channels == [])
    #expect(PackedExposure.decode([3] + v1.dropFirst()) == nil, "an unknown version is refused")
  }
}
