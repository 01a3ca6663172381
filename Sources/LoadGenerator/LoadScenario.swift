import Foundation
import FunnelCore
import FunnelGRPC

/// What a load test sends: a weighted mix of calls over users and items drawn with Zipfian
/// popularity (a few users and items get most of the traffic, as on a real shop).
///
/// Scenario file (JSON), every key optional:
/// `{"mix": {"home": 70, "item_page": 20, "search": 10}, "users": 3000, "items": "catalog.jsonl",
///   "itemCount": 5000, "queries": ["mug", "lamp"], "filters": ["price:<50"], "filterShare": 0.1, "count": 20}`
/// Items come from a catalog file (its `id`s) or are the demo's ids `SKU-100000`...; users are `U-1`...
/// The call `health` (`grpc.health.v1.Health/Check`, no work) measures the transport floor:
/// `{"mix": {"health": 1}}`.
public struct LoadScenario: Sendable {
  /// One kind of call.
  public enum Call: String, CaseIterable, Sendable { case home, itemPage = "item_page", search, health }

  public var mix: [(Call, Double)] = [(.home, 70), (.itemPage, 20), (.search, 10)]
  public var users = 3_000
  public var itemIDs = LoadScenario.demoItemIDs(5_000)
  public var queries = ["mug", "ceramic mug", "lamp", "yoga mat", "notebook", "espresso", "linen cushion", "oak"]
  public var filters = ["price:<50", "category:kitchen", "attr.rating:>=4"]
  /// Share of home and item-page calls that carry a filter.
  public var filterShare = 0.1
  /// Items asked for per call.
  public var count = 20

  /// The default mix (70% home, 20% item page, 10% search) over the demo shop.
  public init() {}

  /// Reads a scenario file; errors name the file and the key.
  public init(file path: String) throws {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw FunnelError(.invalidArgument, "scenario \(path): cannot read (\(error.localizedDescription))")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw FunnelError(.invalidArgument, "scenario \(path): not a JSON object")
    }
    let known: Set = ["mix", "users", "items", "itemCount", "queries", "filters", "filterShare", "count"]
    if let unknown = object.keys.first(where: { !known.contains($0) }) {
      throw FunnelError(.invalidArgument, "scenario \(path): unknown key '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
    }
    if let mix = object["mix"] {
      guard let weights = mix as? [String: NSNumber], !weights.isEmpty else {
        throw FunnelError(.invalidArgument, "scenario \(path): 'mix' must map call kinds to weights")
      }
      self.mix = try weights.sorted { $0.key < $1.key }.map { name, weight in
        guard let call = Call(rawValue: name), weight.doubleValue >= 0 else {
          throw FunnelError(.invalidArgument, "scenario \(path): mix '\(name)' (calls: home, item_page, search, health; weights >= 0)")
        }
        return (call, weight.doubleValue)
      }
    }
    if let n = object["users"] as? Int, n > 0 { users = n }
    if let n = object["itemCount"] as? Int, n > 0 { itemIDs = Self.demoItemIDs(n) }
    if let catalog = object["items"] as? String { itemIDs = try Self.ids(catalog: catalog) }
    if let q = object["queries"] as? [String], !q.isEmpty { queries = q }
    if let f = object["filters"] as? [String] { filters = f }
    if let share = object["filterShare"] as? Double { filterShare = min(1, max(0, share)) }
    if let c = object["count"] as? Int, c > 0 { count = c }
  }

  /// The first `count` item ids of the demo shop (`SKU-100000`, ...).
  public static func demoItemIDs(_ count: Int) -> [String] { (0..<count).map { "SKU-\(100_000 + $0)" } }

  /// The `id`s of a catalog JSON-lines file.
  static func ids(catalog path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw FunnelError(.invalidArgument, "scenario: cannot read catalog \(path)")
    }
    let ids = text.split(whereSeparator: \.isNewline).compactMap { line -> String? in
      (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
    }
    guard !ids.isEmpty else { throw FunnelError(.invalidArgument, "scenario: catalog \(path) has no items") }
    return ids
  }

  /// One call, drawn with `rng`. Deterministic for a seed.
  func next(_ rng: inout SplitMix64) -> (Call, Funnel_V1_RecommendRequest?, Funnel_V1_SearchRequest?) {
    let total = mix.reduce(0) { $0 + $1.1 }
    var pick = rng.unit() * total
    var call = mix.first?.0 ?? .home
    for (c, w) in mix {
      if pick < w { call = c; break }
      pick -= w
    }
    let user = "U-\(rng.zipfIndex(users, s: 1.0) + 1)"
    switch call {
    case .health:
      return (call, nil, nil)
    case .search:
      var request = Funnel_V1_SearchRequest()
      request.query = queries[rng.zipfIndex(queries.count, s: 1.0)]
      request.userID = user
      request.count = UInt32(count)
      return (call, nil, request)
    case .home, .itemPage:
      var request = Funnel_V1_RecommendRequest()
      request.userID = user
      request.count = UInt32(count)
      request.scene = call == .home ? .home : .itemPage
      if call == .itemPage { request.anchorItemIds = [itemIDs[rng.zipfIndex(itemIDs.count, s: 1.0)]] }
      if !filters.isEmpty, rng.unit() < filterShare { request.filter = filters[Int(rng.next() % UInt64(filters.count))] }
      return (call, request, nil)
    }
  }
}
