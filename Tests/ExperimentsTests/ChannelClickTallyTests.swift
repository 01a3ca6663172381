import Experiments
import FeatureStore
import FunnelCore
import Testing

/// Served lists joined with the clicks that came back, per scene and channel.
@Suite struct ChannelClickTallyTests {
  static func list(_ id: String, user: String = "u", scene: String = "home", items: [String], channels: [String]) -> Exposure {
    Exposure(requestID: id, userID: user, scene: scene, arm: "default", modelVersion: "m", timestampMs: 0, items: items,
             channels: channels)
  }

  static func click(_ item: String, request: String, user: String = "u", kind: EventKind = .click) -> BehaviourEvent {
    BehaviourEvent(eventID: "\(request)-\(item)-\(kind)", userID: user, itemID: item, kind: kind, timestampMs: 0, requestID: request)
  }

  @Test func shownAndClickedAreCountedOncePerItemAndChannel() {
    var tally = ChannelClickTally()
    tally.add(exposures: [Self.list("r1", items: ["a", "b", "c"], channels: ["similar", "popular", "similar"]),
                          Self.list("r2", scene: "cart", items: ["a"], channels: ["popular"])], nowMs: 0)
    tally.add(events: [Self.click("a", request: "r1"), Self.click("a", request: "r1"),  // a second click on it: once
                       Self.click("b", request: "r1", kind: .view),  // not a click
                       Self.click("c", request: "r1", user: "someone-else"),  // not the list's user
                       Self.click("z", request: "r1"),  // not shown
                       Self.click("a", request: "r2")], nowMs: 0)
    let d = tally.drain()
    #expect(d[.init(scene: "home", channel: "similar")] == .init(shown: 2, clicked: 1))
    #expect(d[.init(scene: "home", channel: "popular")] == .init(shown: 1, clicked: 0))
    #expect(d[.init(scene: "cart", channel: "popular")] == .init(shown: 1, clicked: 1))
    #expect(tally.drain().isEmpty, "drained")
    // A list seen again (a re-read) is not counted again.
    tally.add(exposures: [Self.list("r1", items: ["a"], channels: ["similar"])], nowMs: 0)
    #expect(tally.drain().isEmpty)
  }

  @Test func aClickReadBeforeItsListWaitsForItBoundedInTimeAndCount() {
    var tally = ChannelClickTally(capacity: 10, maxPending: 2, pendingMs: 1_000)
    tally.add(events: [Self.click("a", request: "early")], nowMs: 0)
    #expect(tally.waiting == 1)
    tally.add(exposures: [Self.list("early", items: ["a"], channels: ["vector"])], nowMs: 500)
    #expect(tally.drain()[.init(scene: "home", channel: "vector")] == .init(shown: 1, clicked: 1))
    // Too late: dropped.
    tally.add(events: [Self.click("a", request: "late")], nowMs: 0)
    tally.add(exposures: [Self.list("late", items: ["a"], channels: ["vector"])], nowMs: 5_000)
    #expect(tally.drain()[.init(scene: "home", channel: "vector")]?.clicked == 0)
    // At most two wait.
    tally.add(events: (0..<5).map { Self.click("a", request: "w\($0)") }, nowMs: 0)
    #expect(tally.waiting == 2)
    // At most ten lists are remembered; the oldest go first.
    tally.add(exposures: (0..<25).map { Self.list("m\($0)", items: ["a"], channels: ["popular"]) }, nowMs: 0)
    #expect(tally.remembered == 10)
    _ = tally.drain()
    tally.add(events: [Self.click("a", request: "m0"), Self.click("a", request: "m24")], nowMs: 0)
    #expect(tally.drain()[.init(scene: "home", channel: "popular")]?.clicked == 1, "m0 is forgotten, m24 counts")
  }

  @Test func listsRebuiltForMemoryAreNotCountedAgain() {
    var tally = ChannelClickTally()
    tally.add(exposures: [Self.list("r", items: ["a", "b"], channels: ["similar", "similar"])], count: false, nowMs: 0)
    tally.add(events: [Self.click("b", request: "r")], nowMs: 0)
    #expect(tally.drain() == [.init(scene: "home", channel: "similar"): .init(shown: 0, clicked: 1)])
  }
}
