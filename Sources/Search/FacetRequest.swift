import FunnelCore

/// One facet a search asks for, parsed from its name:
///
///     brand | tag | attr.NAME          counts per value
///     category                         counts per category node (every level of the hierarchy)
///     price | attr.NAME:bands          counts per band, the bands drawn from the matches' values
///     price:0,10,25,50                 counts per band between the given ascending edges
///
/// Numbers from the request are parsed as finite doubles; a facet list is at most `maxFacets`
/// long and names each facet once. Immutable.
public struct FacetRequest: Hashable, Sendable {
  /// What is counted.
  public enum Kind: Hashable, Sendable {
    /// Keyword values of `field` (`brand`, `tag`, `attr.NAME`), as the filter language names them.
    case values(field: String)
    /// Category nodes: each match counts in its leaf and every ancestor.
    case categories
    /// Bands of a numeric column (`price`, or attribute `name`): between `edges` when given, else
    /// drawn from the matches.
    case bands(attribute: String?, edges: [Double]?)
  }

  /// The facet's name as requested (the answer's facet carries it back).
  public let name: String
  public let kind: Kind

  /// Most facets one search may ask for.
  public static let maxFacets = 8
  /// Most explicit band edges.
  public static let maxEdges = 32
  /// Values per facet when the request does not say, and the most it may ask for.
  public static let defaultSize = 10
  public static let maxSize = 100

  /// Parses `text` (see the type). Throws `FunnelError.invalidArgument` naming `field` and what is wrong.
  public init(parsing text: String, field: String) throws {
    guard !text.isEmpty, text.utf8.count <= 200 else {
      throw FunnelError.invalidArgument(field: field, "must be 1...200 bytes naming a facet (brand, category, tag, price, attr.NAME)")
    }
    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let base = parts[0], suffix = parts.count > 1 ? parts[1] : nil
    var attribute: String?
    switch base {
    case "brand", "tag", "category", "price": break
    default:
      guard base.hasPrefix("attr."), case let name = String(base.dropFirst(5)), AttributeValue.isValidName(name),
            name == name.lowercased() else {
        throw FunnelError.invalidArgument(field: field, "'\(text.prefix(80))' is not a facet (use brand, category, tag, price or attr.NAME)")
      }
      attribute = name
    }
    self.name = text
    switch (base, suffix) {
    case ("category", nil): kind = .categories
    case ("brand", nil), ("tag", nil): kind = .values(field: base)
    case ("price", nil), ("price", "bands"): kind = .bands(attribute: nil, edges: nil)
    case (_, nil) where attribute != nil: kind = .values(field: base)
    case (_, "bands") where attribute != nil: kind = .bands(attribute: attribute, edges: nil)
    case (_, let edges?) where base == "price" || attribute != nil:
      kind = .bands(attribute: attribute, edges: try Self.edges(edges, field: field))
    default:
      throw FunnelError.invalidArgument(field: field, "'\(text.prefix(80))': only price and attr.NAME take bands")
    }
  }

  /// Parses `text` as ascending, finite, comma-separated band edges.
  static func edges(_ text: String, field: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    guard (1...maxEdges).contains(parts.count) else {
      throw FunnelError.invalidArgument(field: field, "bands need 1...\(maxEdges) comma-separated edges")
    }
    var edges: [Double] = []
    for part in parts {
      guard part.utf8.count <= 32, let x = Double(part), x.isFinite else {
        throw FunnelError.invalidArgument(field: field, "band edge '\(part.prefix(40))' is not a finite number")
      }
      if let last = edges.last, x <= last {
        throw FunnelError.invalidArgument(field: field, "band edges must ascend (\(last) then \(x))")
      }
      edges.append(x)
    }
    return edges
  }

  /// Parses a request's facet names (`field` names the list in errors, as `field[i]`): at most
  /// `maxFacets`, each once.
  public static func parse(_ names: [String], field: String = "facets") throws -> [FacetRequest] {
    guard names.count <= maxFacets else {
      throw FunnelError.invalidArgument(field: field, "\(names.count) facets, more than \(maxFacets)")
    }
    var seen = Set<String>()
    return try names.enumerated().map { i, name in
      guard seen.insert(name).inserted else { throw FunnelError.invalidArgument(field: "\(field)[\(i)]", "'\(name.prefix(80))' is asked for twice") }
      return try FacetRequest(parsing: name, field: "\(field)[\(i)]")
    }
  }
}

/// The counts of one facet over a search's matches.
public struct FacetResult: Hashable, Sendable {
  /// One value (or category node, or band) and how many matches have it.
  public struct Value: Hashable, Sendable {
    /// The keyword, category path (`home/kitchen`) or band label (`10-25`, `50+`).
    public var value: String
    public var count: Int
    /// For a category node, its parent's path (empty for a root).
    public var parent: String = ""
    /// For a band: its lower edge (inclusive), and upper edge (exclusive; nil for the top band).
    public var low: Double?
    public var high: Double?

    /// A value.
    public init(value: String, count: Int, parent: String = "", low: Double? = nil, high: Double? = nil) {
      self.value = value
      self.count = count
      self.parent = parent
      self.low = low
      self.high = high
    }
  }

  /// The facet's name as requested.
  public var name: String
  /// Most frequent first (ties by value); bands in ascending order, empty ones included.
  public var values: [Value]

  /// A result.
  public init(name: String, values: [Value]) {
    self.name = name
    self.values = values
  }
}
