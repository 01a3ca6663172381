import FunnelCore

/// How much each field of an item counts in its search text: BM25F's simple form, where a term's
/// frequency in an item is the sum over fields of its occurrences times the field's weight, and the
/// item's length the weighted sum of its fields' lengths. Weights are whole numbers 0...10 (0 leaves
/// a field out of search). Built into the text file, so queries need nothing; recorded in the
/// manifest (`searchFields`) so that items the live catalog adds are weighted the same. Immutable.
///
/// Fields: `title`, `brand`, `category` (the words of the path), `tags`, `attributes` (text values
/// of `attrs`). Catalogs without a description field have none to weigh.
public struct SearchFields: Hashable, Sendable, CustomStringConvertible {
  public var title: UInt32
  public var brand: UInt32
  public var category: UInt32
  public var tags: UInt32
  public var attributes: UInt32

  /// Every field once, attributes left out: how generations without weights were built.
  public static let uniform = SearchFields(title: 1, brand: 1, category: 1, tags: 1, attributes: 0)
  /// The builder's default: a word of the title counts twice what it does elsewhere.
  public static let standard = SearchFields(title: 2, brand: 1, category: 1, tags: 1, attributes: 0)

  /// Weights as given.
  public init(title: UInt32, brand: UInt32, category: UInt32, tags: UInt32, attributes: UInt32) {
    self.title = title
    self.brand = brand
    self.category = category
    self.tags = tags
    self.attributes = attributes
  }

  /// Parses `title=3,brand=2,...` (fields not named keep their `standard` weight). Throws
  /// `FunnelError.invalidArgument` naming a bad field or weight.
  public init(parsing text: String) throws {
    self = .standard
    for part in text.split(separator: ",", omittingEmptySubsequences: true) {
      let pair = part.split(separator: "=", maxSplits: 1).map { String($0.filter { $0 != " " }) }
      guard pair.count == 2, let weight = UInt32(pair[1]), weight <= 10 else {
        throw FunnelError(.invalidArgument, "field weights: '\(part)' is not FIELD=WEIGHT with a weight of 0...10")
      }
      switch pair[0] {
      case "title": title = weight
      case "brand": brand = weight
      case "category": category = weight
      case "tags": tags = weight
      case "attributes": attributes = weight
      default:
        throw FunnelError(.invalidArgument, "field weights: '\(pair[0])' is not a field (title, brand, category, tags, attributes)")
      }
    }
    guard title + brand + category + tags + attributes > 0 else {
      throw FunnelError(.invalidArgument, "field weights: every weight is 0, so nothing could be found")
    }
  }

  /// `title=2,brand=1,category=1,tags=1,attributes=0`: what `init(parsing:)` reads back.
  public var description: String {
    "title=\(title),brand=\(brand),category=\(category),tags=\(tags),attributes=\(attributes)"
  }

  /// The text `item` is found by: its searched fields (weight above 0), each once.
  public func text(_ item: CatalogItem) -> String { texts(item).map(\.text).joined(separator: " ") }

  /// The weighted texts of `item`, fields of weight 0 left out.
  public func texts(_ item: CatalogItem) -> [(text: String, weight: UInt32)] {
    var texts: [(text: String, weight: UInt32)] = []
    if title > 0 { texts.append((item.title, title)) }
    if brand > 0 { texts.append((item.brand, brand)) }
    if category > 0 { texts.append((item.categoryPath.joined(separator: " "), category)) }
    if tags > 0 { texts.append((item.tags.joined(separator: " "), tags)) }
    if attributes > 0 {
      let words = item.attributes.sorted { $0.key < $1.key }.compactMap { $0.value.number == nil ? $0.value.keyword : nil }
      texts.append((words.joined(separator: " "), attributes))
    }
    return texts
  }
}
