import Experiments
import FunnelCore
import Serving

/// Conversions between the wire messages and the domain types of `Serving`. Pure functions.
enum ProtoMapping {
  static func scene(_ scene: Funnel_V1_Scene) -> (Scene?, String) {
    switch scene {
    case .home: (.home, "home")
    case .itemPage: (.itemPage, "item_page")
    case .cart: (.cart, "cart")
    case .search: (.search, "search")
    case .email: (.email, "email")
    case .unspecified: (nil, "SCENE_UNSPECIFIED")
    case .UNRECOGNIZED(let raw): (nil, "unknown value \(raw)")
    }
  }

  static func input(_ r: Funnel_V1_RecommendRequest) -> RecommendInput {
    let (scene, label) = scene(r.scene)
    return RecommendInput(
      userID: r.userID, sessionID: r.sessionID, scene: scene, sceneLabel: label, count: Int(r.count),
      context: r.context, filter: r.filter, excludeItemIDs: r.excludeItemIds, anchorItemIDs: r.anchorItemIds,
      debug: r.debug)
  }

  static func input(_ r: Funnel_V1_SearchRequest) -> SearchInput {
    SearchInput(query: r.query, userID: r.userID, sessionID: r.sessionID, count: Int(r.count), context: r.context,
                filter: r.filter, excludeItemIDs: r.excludeItemIds, debug: r.debug, facets: r.facets,
                facetSize: Int(r.facetSize), sort: r.sort, cursor: r.cursor)
  }

  static func eventKind(_ type: Funnel_V1_EventType) -> (EventKind?, String) {
    switch type {
    case .view: (.view, "view")
    case .click: (.click, "click")
    case .addToCart: (.addToCart, "add_to_cart")
    case .purchase: (.purchase, "purchase")
    case .exposure: (.exposure, "exposure")
    case .unspecified: (nil, "EVENT_TYPE_UNSPECIFIED")
    case .UNRECOGNIZED(let raw): (nil, "unknown value \(raw)")
    }
  }

  static func input(_ e: Funnel_V1_Event) -> EventInput {
    let (kind, label) = eventKind(e.type)
    return EventInput(eventID: e.eventID, userID: e.userID, sessionID: e.sessionID, itemID: e.itemID, kind: kind,
                      kindLabel: label, timestampMs: e.timestampMs, quantity: e.quantity, price: e.price,
                      requestID: e.requestID, country: e.country, consent: consent(e.consent))
  }

  static func input(_ o: Funnel_V1_Order) -> OrderInput {
    let (state, label): (OrderState?, String) = switch o.state {
    case .created: (.created, "created")
    case .paid: (.paid, "paid")
    case .cancelled: (.cancelled, "cancelled")
    case .refunded: (.refunded, "refunded")
    case .unspecified: (nil, "ORDER_STATE_UNSPECIFIED")
    case .UNRECOGNIZED(let raw): (nil, "unknown value \(raw)")
    }
    return OrderInput(orderID: o.orderID, state: state, stateLabel: label, customerID: o.customerID, amount: o.amount,
                      currency: o.currency, lines: o.lines.map { OrderLineInput(itemID: $0.itemID, quantity: $0.quantity,
                                                                               unitPrice: $0.unitPrice, category: $0.category) },
                      country: o.country, source: o.source, timestampMs: o.timestampMs)
  }

  /// The consent an event states: granted, denied, or nil (unspecified; an unknown value counts as a denial).
  static func consent(_ c: Funnel_V1_Consent) -> Bool? {
    switch c {
    case .unspecified: nil
    case .granted: true
    case .denied, .UNRECOGNIZED: false
    }
  }

  static func input(_ m: Funnel_V1_CatalogItem) -> CatalogItemInput {
    CatalogItemInput(id: m.id, title: m.title, category: m.category, brand: m.brand, price: m.price, tags: m.tags,
                     inStock: m.hasInStock ? m.inStock : true, embedding: m.embedding, textAttributes: m.textAttributes,
                     numberAttributes: m.numberAttributes)
  }

  static func items(_ items: [RankedItem]) -> [Funnel_V1_RecommendedItem] {
    items.map { item in
      var out = Funnel_V1_RecommendedItem()
      out.itemID = item.itemID
      out.score = item.score
      out.channels = item.channels
      out.reasons = item.reasons
      return out
    }
  }

  static func debug(_ report: DebugReport) -> Funnel_V1_DebugInfo {
    var out = Funnel_V1_DebugInfo()
    out.timings = report.timings.map { t in
      var s = Funnel_V1_StageTiming()
      s.stage = t.stage
      s.micros = t.micros
      return s
    }
    out.channelCounts = report.channelCounts.map { c in
      var s = Funnel_V1_ChannelCount()
      s.channel = c.channel
      s.candidates = UInt32(clamping: c.candidates)
      return s
    }
    out.mergedCandidates = UInt32(clamping: report.mergedCandidates)
    out.filteredCandidates = UInt32(clamping: report.filteredCandidates)
    out.rankedCandidates = UInt32(clamping: report.rankedCandidates)
    out.itemFeatures = report.features.map { item in
      var f = Funnel_V1_ItemFeatures()
      f.itemID = item.itemID
      f.values = item.values.map { v in
        var value = Funnel_V1_FeatureValue()
        value.name = v.name
        value.value = v.value
        return value
      }
      return f
    }
    return out
  }

  static func recommendResponse(_ a: ServingAnswer) -> Funnel_V1_RecommendResponse {
    var out = Funnel_V1_RecommendResponse()
    out.items = items(a.items)
    out.requestID = a.requestID
    out.modelVersion = a.modelVersion
    out.indexVersion = a.indexVersion
    out.experimentArm = a.experimentArm
    out.degraded = a.degraded
    if let d = a.debug { out.debug = debug(d) }
    return out
  }

  static func suggestResponse(_ a: SuggestAnswer) -> Funnel_V1_SuggestResponse {
    var out = Funnel_V1_SuggestResponse()
    out.suggestions = a.suggestions.map { s in
      var suggestion = Funnel_V1_Suggestion()
      suggestion.text = s.text
      suggestion.kind = s.kind.rawValue
      suggestion.category = s.category
      suggestion.score = s.score
      return suggestion
    }
    out.indexVersion = a.indexVersion
    out.degraded = a.degraded
    return out
  }

  static func searchResponse(_ a: ServingAnswer) -> Funnel_V1_SearchResponse {
    var out = Funnel_V1_SearchResponse()
    out.items = items(a.items)
    out.requestID = a.requestID
    out.modelVersion = a.modelVersion
    out.indexVersion = a.indexVersion
    out.experimentArm = a.experimentArm
    out.degraded = a.degraded
    out.totalMatches = UInt32(clamping: a.totalMatches)
    if let d = a.debug { out.debug = debug(d) }
    out.facets = a.facets.map { facet in
      var f = Funnel_V1_Facet()
      f.name = facet.name
      f.values = facet.values.map { v in
        var value = Funnel_V1_FacetValue()
        value.value = v.value
        value.count = UInt32(clamping: v.count)
        value.parent = v.parent
        if let low = v.low { value.low = low }
        if let high = v.high { value.high = high }
        return value
      }
      return f
    }
    out.nextCursor = a.nextCursor
    if !a.rewrite.isEmpty {
      out.rewrite.corrections = a.rewrite.corrections.map { c in
        var correction = Funnel_V1_QueryCorrection()
        correction.typed = c.typed
        correction.replacement = c.replacement
        correction.kind = c.kind.rawValue
        return correction
      }
      out.rewrite.dropped = a.rewrite.dropped
      out.rewrite.categories = a.rewrite.categories
    }
    return out
  }
}

extension ProtoMapping {
  /// One arm's results on the wire.
  static func output(_ r: ArmReport) -> Funnel_V1_ArmResult {
    func proportion(_ p: ArmReport.Rate) -> Funnel_V1_Proportion {
      var out = Funnel_V1_Proportion()
      out.successes = UInt64(p.successes)
      out.trials = UInt64(p.trials)
      out.value = p.value
      out.ciLow = p.low
      out.ciHigh = p.high
      out.tested = p.z != nil
      out.z = p.z ?? 0
      out.pValue = p.pValue ?? 1
      return out
    }
    var out = Funnel_V1_ArmResult()
    out.experiment = r.experiment
    out.arm = r.arm
    out.control = r.isControl
    out.exposures = UInt64(r.exposures)
    out.clickThrough = proportion(r.clickThrough)
    out.addToCart = proportion(r.addToCart)
    out.conversion = proportion(r.conversion)
    out.revenuePerExposure = r.revenuePerExposure.value
    out.revenueCiLow = r.revenuePerExposure.low
    out.revenueCiHigh = r.revenuePerExposure.high
    out.revenueZ = r.revenuePerExposure.z ?? 0
    out.revenuePValue = r.revenuePerExposure.pValue ?? 1
    out.revenue = r.revenue
    return out
  }
}
