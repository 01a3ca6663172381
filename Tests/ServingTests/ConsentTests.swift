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
