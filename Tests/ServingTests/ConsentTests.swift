import FeatureStore
import FunnelCore
import FunnelTestSupport
import Serving
import Testing

/// Events of a user who did not consent are counted, never stored; with `requireConsent` an event
/// that does not say so counts as not consented.
@Suite struct ConsentTests {
  func event(_ id: String, user: String, consent: Bool?) -> EventInput {
    EventInput(eventID: id, userID: user, itemID: TestEngines.store.items[0].id, kind: .click,
               timestampMs: TestEngines.nowMs, consent: consent)
  }

  @Test func aDenialKeepsTheEventOutOfTheStores() async throws {
    let (engine, store) = TestEngines.engine()
    let outcome = try await engine.track([event("c-1", user: "no-consent", consent: false),
                                          event("c-2", user: "consented", consent: true),
                                          event("c-3", user: "unsaid", consent: nil)])
    #expect(outcome.accepted == 2 && outcome.withoutConsent == 1 && outcome.rejected.isEmpty, "\(outcome)")
    #expect(try await store.recentActivity(of: "no-consent", limit: 5).isEmpty)
    #expect(try await store.recentActivity(of: "consented", limit: 5).count == 1)
    #expect(try await store.recentActivity(of: "unsaid", limit: 5).count == 1, "unsaid counts as granted by default")
    #expect(engine.metrics.value("funnel_events_without_consent_total") == 1)
  }

  /// Without consent the item's real-time counters still move (anonymous aggregates), nothing else.
  @Test func aDenialStillCountsForTheItem() async throws {
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    var dependencies = TestEngines.dependencies(store: store)
    dependencies.anonymousCounter = store
    let engine = ServingEngine(dependencies: dependencies, configuration: ServingConfiguration())
    let item = TestEngines.store.items[0].id
    let before = try await store.itemActivity([item]).first??.count(2, at: Double(TestEngines.nowMs)) ?? 0
    let loggedBefore = store.loggedEvents().count
    let outcome = try await engine.track([event("a-1", user: "anonymous-shopper", consent: false)])
    #expect(outcome.accepted == 0 && outcome.withoutConsent == 1, "\(outcome)")
    let after = try await store.itemActivity([item]).first??.count(2, at: Double(TestEngines.nowMs)) ?? 0
    #expect(after >= before + 0.99, "the item's click count (decayed to now) moved: \(before) -> \(after)")
    #expect(store.loggedEvents().count == loggedBefore, "the event log did not take it")
    #expect(!store.loggedEvents().contains { $0.userID == "anonymous-shopper" })
    #expect(try await store.recentActivity(of: "anonymous-shopper", limit: 5).isEmpty)
  }

  @Test func requiredConsentMustBeSaid() async throws {
    var configuration = ServingConfiguration()
    configuration.requireConsent = true
    let (engine, store) = TestEngines.engine(configuration: configuration)
    let outcome = try await engine.track([event("r-1", user: "unsaid", consent: nil), event("r-2", user: "said", consent: true)])
    #expect(outcome.accepted == 1 && outcome.withoutConsent == 1, "\(outcome)")
    #expect(try await store.recentActivity(of: "unsaid", limit: 5).isEmpty)
    #expect(try await store.recentActivity(of: "said", limit: 5).count == 1)
  }
}
