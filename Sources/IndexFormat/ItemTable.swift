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
  @usableFromInline let stock: ScalarView<UInt8>
  /// Category keys (`home`, `home/lighting`, ...), sorted.
  public let categoryKeys: StringColumn
  private let parents: ScalarView<UInt32>
  @usableFromInline let leaves: ScalarView<UInt32>
  /// Encoded attributes per doc (`encodeAttributes`); nil in version-1 files.
  private let attributeText: StringColumn?
  /// Live catalog changes over the mapped columns (nil: the generation as built). Lookups of a
  /// changed doc read it; the mapped columns are never written.
  public private(set) var overlay: CatalogOverlay?

  /// Serialises `items` (doc id = position). Precondition: ids are unique.
  public static func write(_ items: [CatalogItem]) -> [UInt8] {
    var writer = Writer()
    for item in items { writer.add(item) }
    return writer.finish().bytes
  }

  /// Accumulates an items file item by item, keeping only the stored columns (no `CatalogItem`s),
  /// so a catalog can stream through it. Doc id = order of `add`. Not thread-safe.
  public struct Writer: Sendable {
    private var ids = StringColumn.Builder(), titles = StringColumn.Builder(), brands = StringColumn.Builder()
    private var categoryText = StringColumn.Builder(), tagText = StringColumn.Builder()
    private var attributeText = StringColumn.Builder()
    private var hashed: [(UInt64, UInt32)] = []
    private var prices: [Double] = []
    private var stock: [UInt8] = []
    /// Distinct category paths in order of first appearance, and each doc's path by that number.
    private var pathNumber: [String: UInt32] = [:]
    private var paths: [[String]] = []
    private var docPath: [UInt32] = []
    /// One item's tags or attributes as they are encoded (reused: no string per item).
    private var scratch: [UInt8] = []

    /// An empty items file; its string columns (ids, titles, brands, categories, tags, attributes)
    /// kept in temporary files when `spooled` (a streaming build's item table then holds about 30
    /// bytes per item in memory).
    public init(spooled: Bool = false) {
      (ids, titles, brands) = (.init(spooled: spooled), .init(spooled: spooled), .init(spooled: spooled))
      (categoryText, tagText, attributeText) = (.init(spooled: spooled), .init(spooled: spooled), .init(spooled: spooled))
    }
    /// Number of items added.
    public var count: Int { docPath.count }

    /// Distinct category paths in order of first appearance (`add` returns these numbers).
    public var categoryPaths: [[String]] { paths }

    /// Adds `item` as the next doc and returns the number of its category path (in
    /// `categoryPaths`). Precondition: its id is new. Amortised O(item size).
    @discardableResult
    public mutating func add(_ item: CatalogItem) -> UInt32 {
      let doc = UInt32(docPath.count)
      ids.append(item.id)
      hashed.append((ItemTable.hash(item.id), doc))
      titles.append(item.title)
      brands.append(item.brand)
      let category = item.category
      categoryText.append(category)
      scratch.removeAll(keepingCapacity: true)
      for (i, tag) in item.tags.enumerated() {
        if i > 0 { scratch += ItemTable.tagSeparator.utf8 }
        scratch += tag.utf8
      }
      scratch.withUnsafeBytes { tagText.append(utf8: $0) }
      prices.append(item.price)
      stock.append(item.inStock ? 1 : 0)
      let path: UInt32
      if let number = pathNumber[category] {
        path = number
      } else {
        path = UInt32(paths.count)
        pathNumber[category] = path
        paths.append(item.categoryPath)
      }
      docPath.append(path)
      scratch.removeAll(keepingCapacity: true)
      ItemTable.encodeAttributes(item.attributes, into: &scratch)
      scratch.withUnsafeBytes { attributeText.append(utf8: $0) }
      return path
    }

    /// Every category key (each prefix of every path), sorted as the file stores them.
    public var categoryKeys: [String] {
      StringColumn.utf8Sorted(Set(paths.flatMap { IndexGeneration.categoryPrefixes($0) }))
    }

    /// For each doc, the category keys of its path (root first), as numbers into `categoryKeys`.
    /// Returns the per-path key lists and each doc's path number (shared, so O(paths + docs)).
    public func categoryKeyNumbers() -> (pathKeys: [[UInt32]], docPath: [UInt32]) {
      let keys = categoryKeys
      let index = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, UInt32($0.offset)) })
      return (paths.map { IndexGeneration.categoryPrefixes($0).map { index[$0]! } }, docPath)
    }

    /// The finished file. O(items log items) for the id index.
    public func finish() -> PendingFile {
      var w = SectionedFileWriter()
      ids.write(into: &w)
      let sorted = hashed.sorted { $0 < $1 }
      w.add(sorted.map(\.0))
      w.add(sorted.map(\.1))
      titles.write(into: &w)
      brands.write(into: &w)
      categoryText.write(into: &w)
      tagText.write(into: &w)
      w.add(prices)
      w.add(stock)
      let keys = categoryKeys
      let keyIndex = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, UInt32($0.offset)) })
      StringColumn.write(keys, into: &w)
      w.add(keys.map { key -> UInt32 in
        guard let slash = key.lastIndex(of: "/") else { return noParent }
        return keyIndex[String(key[..<slash])] ?? noParent
      })
      let leafOfPath = paths.map { keyIndex[$0.joined(separator: "/")] ?? noParent }
      w.add(docPath.map { leafOfPath[Int($0)] })
      attributeText.write(into: &w)
      return w.file(kind: kind, formatVersion: version)
    }
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

  /// Number of mapped items (doc ids below it index the generation's other files; an overlay's
  /// added docs come after it).
  public var count: Int { ids.count }

  /// The table with `overlay` laid over the mapped columns (which are shared, not copied).
  public func overlaid(with overlay: CatalogOverlay?) -> ItemTable {
    var table = self
    table.overlay = overlay
    return table
  }

  /// The doc id of external id `id`, or nil (deleted by the overlay, or unknown). O(log n); compares
  /// the stored id to rule out collisions.
  public func doc(for id: String) -> DocID? {
    if let overlay, let decided = overlay.resolve(id) { return decided }
    let h = Self.hash(id)
    var low = 0, high = idHashes.count
    while low < high {
      let mid = (low + high) / 2
      if idHashes[mid] < h { low = mid + 1 } else { high = mid }
    }
    while low < idHashes.count, idHashes[low] == h {
      let doc = idDocs[low]
      if ids.equals(Int(doc), id) { return DocID(rawValue: doc) }
      low += 1
    }
    return nil
  }

  /// External id of `doc`.
  public func id(_ doc: DocID) -> String {
    if let overlay, doc.index >= ids.count { return overlay.added[doc.index - overlay.baseCount].id }
    return ids[doc.index]
  }
  /// Appends the item id of `doc` as UTF-8 to `buffer` (keys for many items without a `String` each).
  @inline(__always) public func appendID(_ doc: DocID, to buffer: inout [UInt8]) {
    if let overlay, doc.index >= ids.count {
      buffer.append(contentsOf: overlay.added[doc.index - overlay.baseCount].id.utf8)
    } else {
      ids.appendUTF8(doc.index, to: &buffer)
    }
  }
  /// Price of `doc`.
  @inlinable @inline(__always) public func price(_ doc: DocID) -> Double {
    if let overlay, overlay.isChanged(doc) { return overlay.item(doc)?.price ?? prices[doc.index] }
    return prices[doc.index]
  }
  /// Whether `doc` is in stock (a doc the overlay hides never is).
  @inlinable @inline(__always) public func inStock(_ doc: DocID) -> Bool {
    if let overlay, overlay.isChanged(doc) { return overlay.item(doc)?.inStock ?? false }
    return stock[doc.index] != 0
  }
  /// Whether the overlay hides `doc` (deleted, or superseded by a newer doc of the same id).
  @inline(__always) public func isHidden(_ doc: DocID) -> Bool { overlay?.isHidden(doc) ?? false }
  /// Leaf category key of `doc` (`noParent` if it has none).
  @inlinable @inline(__always) public func leafCategory(_ doc: DocID) -> UInt32 {
    if let overlay, doc.index >= leaves.count { return overlay.addedLeaves[doc.index - overlay.baseCount] }
    return leaves[doc.index]
  }
  /// Parent of category key `key`, or `noParent` for a root.
  @inline(__always) public func parent(ofCategory key: UInt32) -> UInt32 { parents[Int(key)] }
  /// The mapped leaf category column (`noParent` for none), for loops over many docs: what
  /// `leafCategory` answers for every doc below `count` (the overlay does not move mapped docs).
  public var leafColumn: ScalarView<UInt32> { leaves }

  /// Every stored field of `doc` as a value (allocates: for answers, tests and tools). Embeddings are
  /// not stored here but in the vectors file, so `embedding` is empty.
  public func item(_ doc: DocID) -> CatalogItem {
    if let overlay, overlay.isChanged(doc), let item = overlay.item(doc) { return item }
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
    if let overlay, doc.index >= ids.count { return overlay.added[doc.index - overlay.baseCount].attributes[name] }
    guard let text = attributeText?[doc.index], !text.isEmpty else { return nil }
    return Self.decodeAttributes(text)[name]
  }

  /// `name US kind value` per attribute (kind `t` text, `n` number), joined by RS, sorted by name.
  /// Catalog validation keeps control characters out of names and text values.
  /// Appended to `bytes` as UTF-8, so a build makes no string per attribute.
  static func encodeAttributes(_ attributes: [String: AttributeValue], into bytes: inout [UInt8]) {
    guard !attributes.isEmpty else { return }
    for (i, (name, value)) in attributes.sorted(by: { $0.key < $1.key }).enumerated() {
      if i > 0 { bytes.append(0x1E) }
      bytes += name.utf8
      bytes.append(0x1F)
      switch value {
      case .text(let text):
        bytes.append(UInt8(ascii: "t"))
        bytes += text.utf8
      case .number(let x):
        bytes.append(UInt8(ascii: "n"))
        bytes += x.description.utf8
      }
    }
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

  /// FNV-1a 64 of the UTF-8 bytes: the id index hash (the catalog reader's repeated-id check uses
  /// it too). O(bytes).
  public static func hash(_ s: String) -> UInt64 {
    // Over the contiguous bytes: iterating `utf8` pays the string's representation checks per byte.
    var s = s
    return s.withUTF8 { bytes in
      var h: UInt64 = 0xCBF2_9CE4_8422_2325
      for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
      return h
    }
  }
}
