import Experiments
import FunnelCore
import IndexFormat
import Recall
import Search
import TextAnalysis

/// Validates inputs against `RequestLimits`. Every failure is `FunnelError.invalidArgument` with a
/// message that names the field (and the index, for list elements).
public struct RequestValidator: Sendable {
  public let limits: RequestLimits

  /// A validator for `limits`.
  public init(limits: RequestLimits = RequestLimits()) { self.limits = limits }

  /// Validates a Recommend call.
  public func validate(_ input: RecommendInput) throws -> ValidatedRequest {
    try checkID(input.userID, field: "user_id", required: true)
    try checkID(input.sessionID, field: "session_id", required: false)
    guard let scene = input.scene else {
      let known = Scene.allCases.filter { $0 != .search }.map(\.rawValue).joined(separator: ", ")
      throw FunnelError.invalidArgument(field: "scene", "\(input.sceneLabel) is not a scene (use one of \(known))")
    }
    guard scene != .search else {
      throw FunnelError.invalidArgument(field: "scene", "search is served by the Search method, not Recommend")
    }
    let count = try checkCount(input.count)
    try checkContext(input.context)
    let filter = try FilterParser.parse(input.filter)
    let excluded = try checkIDList(input.excludeItemIDs, field: "exclude_item_ids", max: limits.maxExcludeIDs)
    let anchors = try checkIDList(input.anchorItemIDs, field: "anchor_item_ids", max: limits.maxAnchorIDs)
    if scene == .itemPage, anchors.isEmpty {
      throw FunnelError.invalidArgument(field: "anchor_item_ids", "item_page needs the id of the item being viewed")
    }
    var request = ValidatedRequest(scene: scene, userID: input.userID, sessionID: input.sessionID, count: count,
                                   context: input.context, filter: filter, excluded: Set(excluded), anchors: anchors,
                                   queryTerms: [], query: "", debug: input.debug)
    request.rules = try BusinessRules(context: input.context)
    for (i, id) in request.rules.pins.enumerated() { try checkID(id, field: "context[pin][\(i)]", required: true) }
    return request
  }

  /// Validates a Search call.
  public func validate(_ input: SearchInput) throws -> ValidatedRequest {
    let queryBytes = input.query.utf8.count
    guard queryBytes <= limits.maxQueryBytes else {
      throw FunnelError.invalidArgument(field: "query", "\(queryBytes) bytes, more than \(limits.maxQueryBytes)")
    }
    let terms = Tokenizer.tokens(input.query)
    guard !terms.isEmpty else { throw FunnelError.invalidArgument(field: "query", "has no words to search for") }
    try checkID(input.userID, field: "user_id", required: false)
    try checkID(input.sessionID, field: "session_id", required: false)
    let count = try checkCount(input.count)
    try checkContext(input.context)
    let filter = try FilterParser.parse(input.filter)
    let excluded = try checkIDList(input.excludeItemIDs, field: "exclude_item_ids", max: limits.maxExcludeIDs)
    var request = ValidatedRequest(scene: .search, userID: input.userID, sessionID: input.sessionID, count: count,
                                   context: input.context, filter: filter, excluded: Set(excluded), anchors: [],
                                   queryTerms: terms, query: input.query, debug: input.debug)
    request.search = try searchOptions(input, count: count)
    request.rules = try BusinessRules(context: input.context)
    for (i, id) in request.rules.pins.enumerated() { try checkID(id, field: "context[pin][\(i)]", required: true) }
    return request
  }

  /// Validates a Suggest call: the prefix (1...`maxSuggestPrefixBytes`, with a letter or digit),
  /// ids, and count (0: 8; at most 50). Returns the prefix as typed and the count.
  public func validate(_ input: SuggestInput) throws -> (prefix: String, count: Int) {
    let bytes = input.prefix.utf8.count
    guard bytes <= Self.maxSuggestPrefixBytes else {
      throw FunnelError.invalidArgument(field: "prefix", "\(bytes) bytes, more than \(Self.maxSuggestPrefixBytes)")
    }
    guard !Tokenizer.tokens(input.prefix).isEmpty else {
      throw FunnelError.invalidArgument(field: "prefix", "has no letters or digits to complete")
    }
    try checkID(input.userID, field: "user_id", required: false)
    try checkID(input.sessionID, field: "session_id", required: false)
    guard (0...Self.maxSuggestions).contains(input.count) else {
      throw FunnelError.invalidArgument(field: "count", "\(input.count) is outside 0...\(Self.maxSuggestions)")
    }
    return (input.prefix, input.count == 0 ? 8 : input.count)
  }

  /// Longest prefix a Suggest call may send, in bytes, and most suggestions it may ask for.
  public static let maxSuggestPrefixBytes = 100
  public static let maxSuggestions = 50

  /// Facets, sort and cursor of a search; a relevance page must end within the ranked window.
  private func searchOptions(_ input: SearchInput, count: Int) throws -> SearchOptions {
    var options = SearchOptions()
    options.facets = try FacetRequest.parse(input.facets)
    if input.facetSize != 0 {
      guard (1...FacetRequest.maxSize).contains(input.facetSize) else {
        throw FunnelError.invalidArgument(field: "facet_size", "\(input.facetSize) is outside 1...\(FacetRequest.maxSize)")
      }
      options.facetSize = input.facetSize
    }
    options.sort = try SearchSort(parsing: input.sort)
    options.fingerprint = SearchCursor.fingerprint(query: input.query, filter: input.filter, sort: options.sort)
    if !input.cursor.isEmpty {
      let cursor = try SearchCursor(decoding: input.cursor, fingerprint: options.fingerprint)
      if !options.sort.isKeyed, cursor.offset + count > SearchCursor.relevanceWindow {
        throw FunnelError.invalidArgument(
          field: "cursor", "relevance pages end at result \(SearchCursor.relevanceWindow); sort by a key to go further")
      }
      options.cursor = cursor
    }
    return options
  }

  /// Checks one id: 1...maxIDBytes UTF-8 bytes (0 allowed when not `required`), no control characters.
  public func checkID(_ id: String, field: String, required: Bool) throws {
    let bytes = id.utf8.count
    if bytes == 0 {
      if required { throw FunnelError.invalidArgument(field: field, "is empty") }
      return
    }
    guard bytes <= IDLimits.maxIDBytes else {
      throw FunnelError.invalidArgument(field: field, "\(bytes) bytes, more than \(IDLimits.maxIDBytes)")
    }
    guard !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
      throw FunnelError.invalidArgument(field: field, "contains control characters")
    }
  }

  private func checkCount(_ count: Int) throws -> Int {
    if count == 0 { return limits.defaultCount }
    guard (1...limits.maxCount).contains(count) else {
      throw FunnelError.invalidArgument(field: "count", "\(count) is outside 1...\(limits.maxCount)")
    }
    return count
  }

  private func checkContext(_ context: [String: String]) throws {
    guard context.count <= limits.maxContextEntries else {
      throw FunnelError.invalidArgument(field: "context", "\(context.count) entries, more than \(limits.maxContextEntries)")
    }
    for (key, value) in context {
      guard (1...limits.maxContextKeyBytes).contains(key.utf8.count) else {
        throw FunnelError.invalidArgument(field: "context", "key '\(key.prefix(80))' must be 1...\(limits.maxContextKeyBytes) bytes")
      }
      guard value.utf8.count <= limits.maxContextValueBytes else {
        throw FunnelError.invalidArgument(field: "context[\(key)]", "value longer than \(limits.maxContextValueBytes) bytes")
      }
    }
  }

  private func checkIDList(_ ids: [String], field: String, max: Int) throws -> [String] {
    guard ids.count <= max else { throw FunnelError.invalidArgument(field: field, "\(ids.count) ids, more than \(max)") }
    for (i, id) in ids.enumerated() { try checkID(id, field: "\(field)[\(i)]", required: true) }
    return ids
  }
}
