import FunnelCore
import Logging
import OpenAPIRuntime
import Serving

/// The JSON API (`openapi.yaml`, served through swift-openapi-generator's stubs in `Generated/`):
/// each operation maps its JSON body to the engine's input, calls the same engine method as the gRPC
/// service (so validation, limits and messages are the same), and maps the answer back. Errors are
/// thrown and become RFC 9457 problems in `ProblemMiddleware`. Thread-safe.
struct JSONAPI: APIProtocol {
  let engine: ServingEngine

  func recommend(_ input: Operations.Recommend.Input) async throws -> Operations.Recommend.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let answer = try await engine.recommend(RecommendInput(
      userID: r.userId, sessionID: r.sessionId ?? "", scene: Scene(rawValue: r.scene.rawValue), sceneLabel: r.scene.rawValue,
      count: Int(r.count ?? 0), context: r.context?.additionalProperties ?? [:], filter: r.filter ?? "",
      excludeItemIDs: r.excludeItemIds ?? [], anchorItemIDs: r.anchorItemIds ?? [], debug: r.debug ?? false))
    return .ok(.init(body: .json(.init(
      items: Self.items(answer.items), requestId: answer.requestID, modelVersion: answer.modelVersion,
      indexVersion: answer.indexVersion, experimentArm: answer.experimentArm, degraded: answer.degraded,
      debug: answer.debug.map(Self.debug)))))
  }

  func search(_ input: Operations.Search.Input) async throws -> Operations.Search.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let answer = try await engine.search(SearchInput(
      query: r.query, userID: r.userId ?? "", sessionID: r.sessionId ?? "", count: Int(r.count ?? 0),
      context: r.context?.additionalProperties ?? [:], filter: r.filter ?? "", excludeItemIDs: r.excludeItemIds ?? [],
      debug: r.debug ?? false, facets: r.facets ?? [], facetSize: Int(r.facetSize ?? 0), sort: r.sort ?? "",
      cursor: r.cursor ?? ""))
    let rewrite = answer.rewrite
    return .ok(.init(body: .json(.init(
      items: Self.items(answer.items), requestId: answer.requestID, modelVersion: answer.modelVersion,
      indexVersion: answer.indexVersion, experimentArm: answer.experimentArm, degraded: answer.degraded,
      totalMatches: Int32(clamping: answer.totalMatches), debug: answer.debug.map(Self.debug),
      facets: answer.facets.map { facet in
        .init(name: facet.name, values: facet.values.map {
          .init(value: $0.value, count: Int32(clamping: $0.count), parent: $0.parent.isEmpty ? nil : $0.parent, low: $0.low, high: $0.high)
        })
      },
      nextCursor: answer.nextCursor,
      rewrite: .init(corrections: rewrite.corrections.map {
        .init(typed: $0.typed, replacement: $0.replacement, kind: $0.kind == .completed ? .completed : .corrected)
      }, dropped: rewrite.dropped, categories: rewrite.categories)))))
  }

  func suggest(_ input: Operations.Suggest.Input) async throws -> Operations.Suggest.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let answer = try await engine.suggest(SuggestInput(prefix: r.prefix, userID: r.userId ?? "", sessionID: r.sessionId ?? "",
                                                       count: Int(r.count ?? 0)))
    return .ok(.init(body: .json(.init(
      suggestions: answer.suggestions.map {
        .init(text: $0.text, kind: $0.kind == .query ? .query : .catalog, category: $0.category, score: $0.score)
      },
      indexVersion: answer.indexVersion, degraded: answer.degraded))))
  }

  func track(_ input: Operations.Track.Input) async throws -> Operations.Track.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let outcome = try await engine.track(try r.events.enumerated().map(Self.event))
    return .ok(.init(body: .json(.init(
      accepted: Int32(clamping: outcome.accepted), duplicates: Int32(clamping: outcome.duplicates),
      rejected: outcome.rejected.map { .init(index: Int32(clamping: $0.index), eventId: $0.eventID, reason: $0.reason) },
      withoutConsent: Int32(clamping: outcome.withoutConsent)))))
  }

  /// Event `index` of a Track body as the engine's input. Numbers out of their wire range refuse the
  /// request naming the field (`events[2].quantity`), as the protobuf types would; an unknown `type` is
  /// the engine's per-event rejection.
  private static func event(_ index: Int, _ e: Components.Schemas.Event) throws -> EventInput {
    let at = "events[\(index)]"
    let timestamp = e.timestampMs ?? 0, quantity = e.quantity ?? 0, price = e.price ?? 0
    guard (0...9_000_000_000_000_000).contains(timestamp) else {
      throw FunnelError.invalidArgument(field: "\(at).timestamp_ms", "\(timestamp) is not in 0...9000000000000000")
    }
    guard let units = UInt32(exactly: quantity) else {
      throw FunnelError.invalidArgument(field: "\(at).quantity", "\(quantity) is not in 0...\(UInt32.max)")
    }
    guard price >= 0, price.isFinite else { throw FunnelError.invalidArgument(field: "\(at).price", "\(price) is not a price") }
    let typeName = e._type ?? ""
    return EventInput(eventID: e.eventId ?? "", userID: e.userId ?? "", sessionID: e.sessionId ?? "", itemID: e.itemId ?? "",
                      kind: EventKind(rawValue: typeName), kindLabel: typeName.isEmpty ? "missing" : "'\(typeName)'",
                      timestampMs: timestamp, quantity: units, price: price, requestID: e.requestId ?? "",
                      country: e.country ?? "", consent: e.consent.map { $0 == .granted })
  }

  func trackOrders(_ input: Operations.TrackOrders.Input) async throws -> Operations.TrackOrders.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let outcome = try await engine.trackOrders(try r.orders.enumerated().map(Self.order))
    return .ok(.init(body: .json(.init(
      accepted: Int32(clamping: outcome.accepted), duplicates: Int32(clamping: outcome.duplicates),
      rejected: outcome.rejected.map { .init(index: Int32(clamping: $0.index), orderId: $0.eventID, reason: $0.reason) }))))
  }

  /// Order `index` of a TrackOrders body as the engine's input; numbers out of their wire range
  /// refuse the request naming the field, as for events.
  private static func order(_ index: Int, _ o: Components.Schemas.Order) throws -> OrderInput {
    let at = "orders[\(index)]"
    let timestamp = o.timestampMs ?? 0
    guard (0...9_000_000_000_000_000).contains(timestamp) else {
      throw FunnelError.invalidArgument(field: "\(at).timestamp_ms", "\(timestamp) is not in 0...9000000000000000")
    }
    let lines = try (o.lines ?? []).enumerated().map { i, line in
      let quantity = line.quantity ?? 0
      guard let units = UInt32(exactly: quantity) else {
        throw FunnelError.invalidArgument(field: "\(at).lines[\(i)].quantity", "\(quantity) is not in 0...\(UInt32.max)")
      }
      return OrderLineInput(itemID: line.itemId ?? "", quantity: units, unitPrice: line.unitPrice ?? 0, category: line.category ?? "")
    }
    let stateName = o.state ?? ""
    return OrderInput(orderID: o.orderId ?? "", state: OrderState(rawValue: stateName),
                      stateLabel: stateName.isEmpty ? "missing" : "'\(stateName.prefix(40))'", customerID: o.customerId ?? "",
                      amount: o.amount ?? 0, currency: o.currency ?? "", lines: lines, country: o.country ?? "",
                      source: o.source ?? "", timestampMs: timestamp)
  }

  func upsertItems(_ input: Operations.UpsertItems.Input) async throws -> Operations.UpsertItems.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let position = try await engine.upsertItems(inputs: r.items.map { m in
      CatalogItemInput(id: m.id, title: m.title ?? "", category: m.category, brand: m.brand ?? "", price: m.price ?? 0,
                       tags: m.tags ?? [], inStock: m.inStock ?? true, embedding: m.embedding ?? [],
                       textAttributes: m.textAttributes?.additionalProperties ?? [:],
                       numberAttributes: m.numberAttributes?.additionalProperties ?? [:])
    })
    return .ok(.init(body: .json(.init(accepted: Int32(clamping: r.items.count), feedPosition: position))))
  }

  func deleteItems(_ input: Operations.DeleteItems.Input) async throws -> Operations.DeleteItems.Output {
    guard case .json(let r) = input.body else { throw Self.unsupportedBody }
    let position = try await engine.deleteItems(r.itemIds)
    return .ok(.init(body: .json(.init(accepted: Int32(clamping: r.itemIds.count), feedPosition: position))))
  }

  func getItem(_ input: Operations.GetItem.Input) async throws -> Operations.GetItem.Output {
    guard let item = engine.item(input.path.itemId) else {
      throw FunnelError(.notFound, "item_id: \(input.path.itemId) is not in the serving index generation")
    }
    return .ok(.init(body: .json(.init(
      itemId: item.id, title: item.title, categoryPath: item.categoryPath, brand: item.brand, price: item.price,
      tags: item.tags, inStock: item.inStock))))
  }

  private static let unsupportedBody = FunnelError(.invalidArgument, "body: must be application/json")

  private static func items(_ items: [RankedItem]) -> [Components.Schemas.RecommendedItem] {
    items.map { .init(itemId: $0.itemID, score: $0.score, channels: $0.channels, reasons: $0.reasons) }
  }

  private static func debug(_ report: DebugReport) -> Components.Schemas.DebugInfo {
    .init(timings: report.timings.map { .init(stage: $0.stage, micros: Int64(clamping: $0.micros)) },
          channelCounts: report.channelCounts.map { .init(channel: $0.channel, candidates: Int32(clamping: $0.candidates)) },
          mergedCandidates: Int32(clamping: report.mergedCandidates), filteredCandidates: Int32(clamping: report.filteredCandidates),
          rankedCandidates: Int32(clamping: report.rankedCandidates))
  }
}
