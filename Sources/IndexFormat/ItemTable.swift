import FunnelCore
import MappedStorage

/// The `items` file of a generation: stored fields by doc id, an id -> doc hash index, numeric and
/// flag columns for filters and features, and the category tree (every path prefix is a category
/// key with a parent; each document points at its leaf key).
///
/// Immutable; safe to share across threads. Lookups allocate nothing except where they return Strings.
public struct ItemTable: Sendable {
  static let kind = "ITEM"
  /// Version 2 adds the attributes column; version 1 files (no attributes) still open.
  static let version: UInt32 = 2
  /// Separator of tags inside one stored string.
  static let tagSeparator: Character = "\u{1F}"
  /// `parent` value of a root category.
  public static let noParent = UInt32.max

  private let ids, titles, brands, categories, tags: StringColumn
  private let idHashes: ScalarView<UInt64>
  private let idDocs: ScalarView<UInt32>
  /// Prices by doc id (for range filters that scan the column).
  public let prices: ScalarView<Double>
  private let stock: ScalarView<UInt8>
  /// Category keys (`home`, `home/lighting`, ...), sorted.
  public let categoryKeys: StringColumn
  private let parents: ScalarView<UInt32>
  private let leaves: ScalarView<UInt32>
  /// Encoded attributes per doc (`encodeAttributes`); nil in version-1 files.
  private let attributeText: StringColumn?

  /// Serialises `items` (doc id = position). Precondition: ids are unique.
  public static func write(_ items: [CatalogItem]) -> [UInt8] {
    var w = SectionedFileWriter()
    StringColumn.write(items.map(\.id), into: &w)
    let hashed = items.enumerated().map { (Self.hash($0.element.id), UInt32($0.offset)) }.sorted { $0 < $1 }
    w.add(hashed.map(\.0))
    w.add(hashed.map(\.1))
    StringColumn.write(items.map(\.title), into: &w)
    StringColumn.write(items.map(\.brand), into: &w)
    StringColumn.write(items.map(\.category), into: &w)
    StringColumn.write(items.map { $0.tags.joined(separator: String(tagSeparator)) }, into: &w)
    w.add(items.map(\.price))
    w.add(items.map { UInt8($0.inStock ? 1 : 0) })
    let keys = StringColumn.utf8Sorted(Set(items.flatMap { IndexGeneration.categoryPrefixes($0.categoryPath) }))
    let keyIndex = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, UInt32($0.offset)) })
    StringColumn.write(keys, into: &w)
    w.add(keys.map { key -> UInt32 in
      guard let slash = key.lastIndex(of: "/") else { return noParent }
      return keyIndex[String(key[..<slash])] ?? noParent
    })
    w.add(items.map { keyIndex[$0.category] ?? noParent })
    StringColumn.write(items.map { encodeAttributes($0.attributes) }, into: &w)
    return w.finish(kind: kind, formatVersion: version)
  }

  /// Opens an items file and validates every id-derived index (O(items)).
  public init(_ region: ByteRegion, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: 1...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 18)
    ids = try StringColumn(f, first: 0)
    let n = ids.count
    idHashes = try f.scalars(2, as: UInt64.self, expected: n)
    idDocs = try f.scalars(3, as: UInt32.self, expected: n)
    titles = try StringColumn(f, first: 4, expected: n)
    brands = try StringColumn(f, first: 6, expected: n)
    categories = try StringColumn(f, first: 8, expected: n)
    tags = try StringColumn(f, first: 10, expected: n)
    prices = try f.scalars(12, as: Double.self, expected: n)
    stock = try f.scalars(13, as: UInt8.self, expected: n)
    categoryKeys = try StringColumn(f, first: 14, sorted: true)
    parents = try f.scalars(16, as: UInt32.self, expected: categoryKeys.count)
    leaves = try f.scalars(17, as: UInt32.self, expected: n)
    attributeText = f.sectionCount >= 20 ? try StringColumn(f, first: 18, expected: n) : nil
    let k = UInt32(categoryKeys.count)
    guard idDocs.allSatisfy({ $0 < UInt32(n) }) else { throw f.corrupt("id index points past \(n) items") }
    guard zip(idHashes, idHashes.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw f.corrupt("id index is not sorted") }
    guard parents.allSatisfy({ $0 < k || $0 == Self.noParent }), leaves.allSatisfy({ $0 < k || $0 == Self.noParent }) else {
      throw f.corrupt("category references point past \(k) categories")
    }
  }

  /// Number of items.
  public var count: Int { ids.count }

  /// The doc id of external id `id`, or nil. O(log n); compares the stored id to rule out collisions.
  public func doc(for id: String) -> DocID? {
    let h = Self.hash(id)
    var low = 0, high = idHashes.count
    while low < high {
      let mid = (low + high) / 2
      if idHashes[mid] < h { low = mid + 1 } else { high = mid }
    }
    while low < idHashes.count, idHashes[low] == h {
      let doc = idDocs[low]
      if ids[Int(doc)] == id { return DocID(rawValue: doc) }
      low += 1
    }
    return nil
  }

  /// External id of `doc`.
  public func id(_ doc: DocID) -> String { ids[doc.index] }
  /// Price of `doc`.
  @inline(__always) public func price(_ doc: DocID) -> Double { prices[doc.index] }
  /// Whether `doc` is in stock.
  @inline(__always) public func inStock(_ doc: DocID) -> Bool { stock[doc.index] != 0 }
  /// Leaf category key of `doc` (`noParent` if it has none).
  @inline(__always) public func leafCategory(_ doc: DocID) -> UInt32 { leaves[doc.index] }
  /// Parent of category key `key`, or `noParent` for a root.
  @inline(__always) public func parent(ofCategory key: UInt32) -> UInt32 { parents[Int(key)] }

  /// Every stored field of `doc` as a value (allocates: for answers, tests and tools). Embeddings are
  /// not stored here but in the vectors file, so `embedding` is empty.
  public func item(_ doc: DocID) -> CatalogItem {
    let path = categories[doc.index].split(separator: "/").map(String.init)
    let tagText = tags[doc.index]
    return CatalogItem(id: ids[doc.index], title: titles[doc.index], categoryPath: path, brand: brands[doc.index],
                       price: prices[doc.index],
                       tags: tagText.isEmpty ? [] : tagText.split(separator: Self.tagSeparator).map(String.init),
                       inStock: stock[doc.index] != 0,
                       attributes: attributeText.map { Self.decodeAttributes($0[doc.index]) } ?? [:])
  }

  /// Attribute `name` of `doc` (decodes that doc's attributes only), or nil.
  public func attribute(_ doc: DocID, _ name: String) -> AttributeValue? {
    guard let text = attributeText?[doc.index], !text.isEmpty else { return nil }
    return Self.decodeAttributes(text)[name]
  }

  /// `name US kind value` per attribute (kind `t` text, `n` number), joined by RS, sorted by name.
  /// Catalog validation keeps control characters out of names and text values.
  static func encodeAttributes(_ attributes: [String: AttributeValue]) -> String {
    attributes.sorted { $0.key < $1.key }.map { name, value in
      switch value {
      case .text(let text): name + "\u{1F}t" + text
      case .number(let x): name + "\u{1F}n" + String(x)
      }
    }.joined(separator: "\u{1E}")
  }

  static func decodeAttributes(_ text: String) -> [String: AttributeValue] {
    var result: [String: AttributeValue] = [:]
    for entry in text.split(separator: "\u{1E}") {
      let parts = entry.split(separator: "\u{1F}", maxSplits: 1)
      guard parts.count == 2, let kind = parts[1].first else { continue }
      let value = String(parts[1].dropFirst())
      result[String(parts[0])] = kind == "n" ? Double(value).map(AttributeValue.number) : .text(value)
    }
    return result
  }

  /// FNV-1a 64 of the UTF-8 bytes: the id index hash.
  static func hash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
  }
}
