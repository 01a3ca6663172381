import FunnelCore
import Serving
import Testing

@Suite struct RequestValidatorTests {
  let validator = RequestValidator()

  static func base() -> RecommendInput { RecommendInput(userID: "U-1", scene: .home) }

  /// Each bad input must be INVALID_ARGUMENT with a message naming the field.
  @Test(arguments: [
    ("empty user", { var r = base(); r.userID = ""; return r }(), "user_id"),
    ("long user", { var r = base(); r.userID = String(repeating: "u", count: 257); return r }(), "user_id"),
    ("control char", { var r = base(); r.userID = "a\u{0}b"; return r }(), "user_id"),
    ("long session", { var r = base(); r.sessionID = String(repeating: "s", count: 300); return r }(), "session_id"),
    ("no scene", { var r = base(); r.scene = nil; r.sceneLabel = "SCENE_UNSPECIFIED"; return r }(), "scene"),
    ("search scene", { var r = base(); r.scene = .search; return r }(), "scene"),
    ("count too big", { var r = base(); r.count = 1001; return r }(), "count"),
    ("count negative", { var r = base(); r.count = -1; return r }(), "count"),
    ("too many excludes", { var r = base(); r.excludeItemIDs = Array(repeating: "x", count: 1001); return r }(), "exclude_item_ids"),
    ("empty exclude", { var r = base(); r.excludeItemIDs = ["a", ""]; return r }(), "exclude_item_ids[1]"),
    ("too many anchors", { var r = base(); r.anchorItemIDs = Array(repeating: "x", count: 51); return r }(), "anchor_item_ids"),
    ("item page no anchor", { var r = base(); r.scene = .itemPage; return r }(), "anchor_item_ids"),
    ("big context", { var r = base(); r.context = Dictionary(uniqueKeysWithValues: (0..<33).map { ("k\($0)", "v") }); return r }(), "context"),
    ("long context value", { var r = base(); r.context = ["k": String(repeating: "v", count: 300)]; return r }(), "context[k]"),
    ("bad filter", { var r = base(); r.filter = "price:[1 TO"; return r }(), "filter"),
  ])
  func rejects(_ name: String, input: RecommendInput, field: String) {
    let error = #expect(throws: FunnelError.self, "\(name)") { try validator.validate(input) }
    #expect(error?.kind == .invalidArgument)
    #expect(error?.message.hasPrefix(field) == true, "\(name): \(error?.message ?? "")")
  }

  @Test func acceptsAndDefaults() throws {
    var input = Self.base()
    input.count = 0
    input.filter = "category:kitchen"
    let v = try validator.validate(input)
    #expect(v.count == 20)
    #expect(v.filter == .term(field: .category, value: "kitchen"))
    input.count = 1000
    #expect(try validator.validate(input).count == 1000)
  }

  @Test(arguments: [("", "query"), ("  !!! ", "query"), (String(repeating: "q", count: 513), "query")])
  func rejectsBadSearches(query: String, field: String) {
    let error = #expect(throws: FunnelError.self) { try validator.validate(SearchInput(query: query)) }
    #expect(error?.message.hasPrefix(field) == true)
  }

  @Test func searchMayBeAnonymous() throws {
    let v = try validator.validate(SearchInput(query: "Ceramic MUG"))
    #expect(v.queryTerms == ["ceramic", "mug"])
    #expect(v.scene == .search)
  }

  @Test(arguments: [
    (EventInput(eventID: "", userID: "u", itemID: "i", kind: .view), "event_id"),
    (EventInput(eventID: "e", userID: "", itemID: "i", kind: .view), "user_id"),
    (EventInput(eventID: "e", userID: "u", itemID: "", kind: .view), "item_id"),
    (EventInput(eventID: "e", userID: "u", itemID: "i", kind: nil), "type"),
    (EventInput(eventID: "e", userID: "u", itemID: "i", kind: .view, timestampMs: 1_000), "timestamp_ms"),
    (EventInput(eventID: "e", userID: "u", itemID: "i", kind: .view, timestampMs: 1_790_000_000_000 + 3_600_000), "timestamp_ms"),
    (EventInput(eventID: "e", userID: "u", itemID: "i", kind: .purchase, quantity: 20_000), "quantity"),
    (EventInput(eventID: "e", userID: "u", itemID: "i", kind: .purchase, price: -1), "price"),
    (EventInput(eventID: "e", userID: "u", itemID: "i", kind: .purchase, price: .infinity), "price"),
  ])
  func rejectsBadEvents(input: EventInput, field: String) {
    let error = #expect(throws: FunnelError.self) {
      try validator.validate(input, nowMs: 1_790_000_000_000, configuration: ServingConfiguration())
    }
    #expect(error?.message.hasPrefix(field) == true, "\(error?.message ?? "")")
  }

  @Test func eventDefaults() throws {
    let e = try validator.validate(EventInput(eventID: "e", userID: "u", itemID: "i", kind: .view),
                                   nowMs: 1_790_000_000_000, configuration: ServingConfiguration())
    #expect(e.timestampMs == 1_790_000_000_000)
    #expect(e.quantity == 1)
  }
}
