import FunnelSecurity
import Testing

/// Per-caller token buckets and in-flight caps: who is refused, when they may retry, and that one
/// caller's flood leaves another's budget alone.
@Suite struct CallerLimitsTests {
  @Test func aCallerOverItsRateWaitsForItsNextTokenAndOthersDoNot() throws {
    let limits = CallerLimits(.init(rates: [.recommend: .init(perSecond: 10, burst: 3)]))
    let start = ContinuousClock.now
    for _ in 0..<3 { try limits.admit("flood", scope: .recommend, now: start)() }
    #expect(throws: CallerLimits.Refusal.self) { try limits.admit("flood", scope: .recommend, now: start) }
    do { _ = try limits.admit("flood", scope: .recommend, now: start) } catch {
      #expect(error.retryAfter == .milliseconds(100) && error.message.contains("over its recommend rate (10/s)"), "\(error)")
    }
    #expect(throws: Never.self) { try limits.admit("polite", scope: .recommend, now: start)() }
    #expect(throws: Never.self) { try limits.admit("flood", scope: .eventsWrite, now: start)() }
    // A tenth of a second later one token is back, not more.
    try limits.admit("flood", scope: .recommend, now: start + .milliseconds(100))()
    #expect(throws: CallerLimits.Refusal.self) { try limits.admit("flood", scope: .recommend, now: start + .milliseconds(100)) }
  }

  @Test func callsInFlightAreCappedAndGivenBack() throws {
    let limits = CallerLimits(.init(maxConcurrent: 2))
    let first = try limits.admit("batch", scope: .recommend)
    let second = try limits.admit("batch", scope: .recommend)
    #expect(throws: CallerLimits.Refusal.self) { try limits.admit("batch", scope: .recommend) }
    first()
    first()  // a second release changes nothing
    let third = try limits.admit("batch", scope: .recommend)
    #expect(throws: CallerLimits.Refusal.self) { try limits.admit("batch", scope: .recommend) }
    second()
    third()
  }

  /// A stand-in connection: closing it runs what the limits registered.
  final class Connection: @unchecked Sendable {
    private var onClose: [@Sendable () -> Void] = []
    var caller: CallerConnection {
      CallerConnection(id: ObjectIdentifier(self), whenClosed: { self.onClose.append($0) })
    }
    func close() { onClose.forEach { $0() }; onClose = [] }
  }

  @Test func connectionsPerCallerAreCappedAndGivenBackWhenTheyClose() throws {
    let limits = CallerLimits(.init(maxConnections: 2))
    let (a, b, c) = (Connection(), Connection(), Connection())
    try limits.admit("batch", scope: .recommend, connection: a.caller)()
    try limits.admit("batch", scope: .recommend, connection: a.caller)()  // the same connection again
    try limits.admit("batch", scope: .recommend, connection: b.caller)()
    #expect(limits.connections(of: "batch") == 2)
    do {
      _ = try limits.admit("batch", scope: .recommend, connection: c.caller)
      Issue.record("a third connection was admitted")
    } catch {
      #expect(error.message.contains("2 connections (limit 2)"), "\(error)")
    }
    try limits.admit("other", scope: .recommend, connection: c.caller)()  // another caller is not affected
    a.close()
    #expect(limits.connections(of: "batch") == 1)
    try limits.admit("batch", scope: .recommend, connection: c.caller)()
    #expect(limits.connections(of: "batch") == 2)
  }

  @Test func trackedCallersAreBounded() throws {
    let limits = CallerLimits(.init(rates: [.recommend: .init(perSecond: 1, burst: 1)], maxCallers: 100))
    for i in 0..<1_000 { try limits.admit("subject-\(i)", scope: .recommend)() }
    #expect(limits.trackedCallers <= 100)
  }

  @Test func ratesParseAndNameTheBadEntry() throws {
    let rates = try CallerLimits.Settings.rates("recommend=500/1000, events:write=2000")
    #expect(rates[.recommend] == .init(perSecond: 500, burst: 1_000) && rates[.eventsWrite] == .init(perSecond: 2_000, burst: 2_000))
    for bad in ["recommend", "fly=3", "recommend=0", "recommend=5/0", "recommend=x"] {
      #expect(throws: AuthConfigurationError.self) { try CallerLimits.Settings.rates(bad) }
    }
  }
}
