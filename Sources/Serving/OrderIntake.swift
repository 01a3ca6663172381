import FunnelCore
import IndexFormat
import Indicators

/// TrackOrders' path: each order change validated (its currency must have a rate to the reporting
/// one), the valid ones admitted by the ledger (idempotent by order id and state), the new ones
/// counted in the indicators and the metrics. Thread-safe.
struct OrderIntake: Sendable {
  let configuration: ServingConfiguration
  let validator: RequestValidator
  let indicators: LiveIndicators
  let metrics: ServingMetrics
  let now: @Sendable () -> Int64

  /// Validates and counts `inputs`. Throws `invalidArgument` when the batch is empty or too large,
  /// and the ledger's error (`StoreFailure`: UNAVAILABLE) when it cannot tell new changes from
  /// repeated ones: then nothing of the call counted and the caller retries it.
  func track(_ inputs: [OrderInput], generation: IndexGeneration) async throws -> TrackOutcome {
    try validator.checkBatch(inputs.count, field: "orders", configuration: configuration)
    let nowMs = now()
    var valid: [OrderEvent] = []
    var rejected: [TrackOutcome.Rejection] = []
    let rates = indicators.rates
    for (i, input) in inputs.enumerated() {
      do {
        let order = try validator.validate(input, nowMs: nowMs, configuration: configuration)
        guard rates.factor(from: order.currency) != nil else {
          throw FunnelError.invalidArgument(field: "currency", "no rate from \(order.currency) to the reporting currency \(rates.reporting)")
        }
        valid.append(order)
      } catch let error as FunnelError {
        rejected.append(.init(index: i, eventID: input.orderID, reason: "orders[\(i)].\(error.message)"))
      }
    }
    let fresh: [Bool]
    do {
      fresh = valid.isEmpty ? [] : try await indicators.ledger.admit(valid.map(\.ledgerKey))
    } catch {
      metrics.ordersUnavailable.add(valid.count)
      throw error
    }
    let accepted = zip(valid, fresh).filter(\.1).map(\.0)
    let items = generation.items
    indicators.recorder.record(orders: accepted, factor: { rates.factor(from: $0.currency) ?? 1 }) { line in
      if !line.category.isEmpty { return line.category }
      return items.doc(for: line.itemID).map { items.item($0).category } ?? ""
    }
    for order in accepted {
      metrics.ordersAccepted[order.state]?.increment()
      metrics.orderAmount[order.state]?.increment(by: order.amount * (rates.factor(from: order.currency) ?? 1))
    }
    metrics.ordersDuplicate.add(valid.count - accepted.count)
    metrics.ordersRejected.add(rejected.count)
    return TrackOutcome(accepted: accepted.count, duplicates: valid.count - accepted.count, rejected: rejected)
  }
}
