import FeatureStore
import FunnelCore
import IndexFormat
import Indicators

/// Track's path: each event validated (and, unless `acceptUnknownItems`, checked against the serving
/// generation's items), the valid ones of consenting users stored in one append, those of users who
/// did not consent counted only in the items' and the business aggregates, every outcome counted.
/// Thread-safe.
struct EventIntake: Sendable {
  let configuration: ServingConfiguration
  let validator: RequestValidator
  let events: any EventSink
  /// Where events without consent still count, anonymously (nil: nowhere).
  let anonymous: (any AnonymousEventCounter)?
  /// Where first sightings are counted for the dashboard.
  let indicators: LiveIndicators?
  let metrics: ServingMetrics
  let now: @Sendable () -> Int64

  /// Validates and stores `inputs` against `generation`. Throws `invalidArgument` when the batch is
  /// empty or too large, and the store's error (`StoreFailure`: UNAVAILABLE) when it cannot store
  /// them: then no event of the call counts as accepted and the caller retries the call; events
  /// stored before the failure come back as duplicates (idempotent by event id).
  func track(_ inputs: [EventInput], generation: IndexGeneration) async throws -> TrackOutcome {
    try validator.checkBatch(inputs.count, field: "events", configuration: configuration)
    let nowMs = now()
    var valid: [BehaviourEvent] = []
    var rejected: [TrackOutcome.Rejection] = []
    var withoutConsent: [BehaviourEvent] = []
    for (i, input) in inputs.enumerated() {
      do {
        let event = try validate(input, nowMs: nowMs, generation: generation)
        // A user who did not consent is not remembered: the event moves only anonymous aggregates.
        guard input.consent ?? !configuration.requireConsent else {
          withoutConsent.append(event)
          continue
        }
        valid.append(event)
      } catch let error as FunnelError {
        rejected.append(.init(index: i, eventID: input.eventID, reason: "events[\(i)].\(error.message)"))
      }
    }
    let stored: EventAppendResult
    do {
      stored = valid.isEmpty ? EventAppendResult(accepted: 0, duplicates: 0) : try await events.append(valid)
    } catch {
      // Nothing is reported accepted: the caller retries the whole call (idempotent by event id).
      metrics.eventsUnavailable.add(valid.count)
      throw error
    }
    let items = generation.items
    let category: @Sendable (ItemID) -> String? = { id in items.doc(for: id).map { items.item($0).category } }
    var firstSightings: [BehaviourEvent] = []
    if stored.namesDuplicates {
      let duplicates = Set(stored.duplicateIndices)
      firstSightings = valid.indices.filter { !duplicates.contains($0) }.map { valid[$0] }
    }
    if let anonymous, !withoutConsent.isEmpty {
      // Best effort: the aggregates are not the caller's data, and the call is not failed for them.
      do {
        let counted = try await anonymous.countAnonymously(withoutConsent, category: category)
        // The dashboard's counts have no user in them either; they take the batch only when all of
        // it was new (the counter tells how many, not which).
        if counted == withoutConsent.count { firstSightings += withoutConsent }
      } catch {
        metrics.eventsAnonymousUncounted.add(withoutConsent.count)
      }
    }
    if let indicators, !firstSightings.isEmpty { await indicators.record(events: firstSightings, category: category) }
    metrics.eventsAccepted.add(stored.accepted)
    metrics.eventsDuplicate.add(stored.duplicates)
    metrics.eventsRejected.add(rejected.count)
    metrics.eventsWithoutConsent.add(withoutConsent.count)
    var outcome = TrackOutcome(accepted: stored.accepted, duplicates: stored.duplicates, rejected: rejected)
    outcome.withoutConsent = withoutConsent.count
    return outcome
  }

  private func validate(_ input: EventInput, nowMs: Int64, generation: IndexGeneration) throws -> BehaviourEvent {
    let event = try validator.validate(input, nowMs: nowMs, configuration: configuration)
    if generation.items.doc(for: event.itemID) == nil {
      metrics.eventsUnknownItem.increment()
      guard configuration.acceptUnknownItems else {
        throw FunnelError.invalidArgument(field: "item_id", "'\(event.itemID)' is not in the catalog (index \(generation.version))")
      }
    }
    return event
  }
}
