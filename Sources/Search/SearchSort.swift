import FunnelCore
import IndexFormat

/// The order of a search's results:
///
///     relevance (default)             the text score, re-ranked by the model for the user
///     price_asc | price_desc          by price
///     popularity                      most popular first (the generation's popularity)
///     newest                          largest value of the newness attribute first
///     attr.NAME:asc | attr.NAME:desc  by a numeric attribute
///
/// Items without a value for the key come last either way; ties go by document. Immutable.
public enum SearchSort: Hashable, Sendable {
  case relevance
  case price(ascending: Bool)
  case popularity
  case newest
  case attribute(String, ascending: Bool)

  /// Parses `text` (empty is relevance). Throws `FunnelError.invalidArgument` naming `field`.
  public init(parsing text: String, field: String = "sort") throws {
    switch text {
    case "", "relevance": self = .relevance
    case "price_asc": self = .price(ascending: true)
    case "price_desc": self = .price(ascending: false)
    case "popularity": self = .popularity
    case "newest": self = .newest
    default:
      let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
      if parts.count == 2, parts[0].hasPrefix("attr."), case let name = String(parts[0].dropFirst(5)),
         AttributeValue.isValidName(name), name == name.lowercased(), parts[1] == "asc" || parts[1] == "desc" {
        self = .attribute(name, ascending: parts[1] == "asc")
        return
      }
      throw FunnelError.invalidArgument(
        field: field, "'\(text.prefix(80))' is not a sort (use relevance, price_asc, price_desc, popularity, newest or attr.NAME:asc|desc)")
    }
  }

  /// The canonical name (as parsed).
  public var name: String {
    switch self {
    case .relevance: "relevance"
    case .price(let ascending): ascending ? "price_asc" : "price_desc"
    case .popularity: "popularity"
    case .newest: "newest"
    case .attribute(let name, let ascending): "attr.\(name):\(ascending ? "asc" : "desc")"
    }
  }

  /// Whether results are ordered by a stored key instead of relevance.
  public var isKeyed: Bool { self != .relevance }

  /// The per-document sort key of a keyed sort in `generation`, smaller first, +infinity for docs
  /// without a value (so they come last); `newness` names the attribute `newest` reads.
  /// Nil for `relevance`. The closure reads mapped columns only (no allocation per call).
  public func key(in generation: IndexGeneration, newness: String) -> ((UInt32) -> Double)? {
    let items = generation.items
    let n = items.count
    func oriented(_ ascending: Bool, _ raw: @escaping (UInt32) -> Double) -> (UInt32) -> Double {
      { doc in
        let x = raw(doc)
        return x.isNaN ? .infinity : ascending ? x : -x
      }
    }
    switch self {
    case .relevance: return nil
    case .price(let ascending): return oriented(ascending) { items.price(DocID(rawValue: $0)) }
    case .popularity:
      let popularity = generation.popularity.itemPopularity
      return oriented(false) { Int($0) < n && Int($0) < popularity.count ? Double(popularity[Int($0)]) : .nan }
    case .newest:
      guard let column = generation.attributes?.column(newness) else { return { _ in .infinity } }
      return oriented(false) { Int($0) < n ? column[Int($0)] : .nan }
    case .attribute(let name, let ascending):
      guard let column = generation.attributes?.column(name) else { return { _ in .infinity } }
      return oriented(ascending) { Int($0) < n ? column[Int($0)] : .nan }
    }
  }
}
