import Bitmaps
import FunnelCore
import MappedStorage

/// The `keywords` file of a generation: one Roaring bitmap of doc ids per keyword (`category` for
/// every path prefix and every single level, `brand`, `tag`, `in_stock`), stored in CRoaring's frozen format, 32-byte
/// aligned, so a lookup is a zero-copy view over the mapped file.
///
/// Keys are `field` + U+001F + lower-cased value. Immutable; safe to share across threads.
public struct KeywordIndex: Sendable {
  static let kind = "KWRD"
  static let version: UInt32 = 1

  /// Sorted keys.
  public let keys: StringColumn
  private let file: SectionedFile
  private let bitmapOffsets: ScalarView<UInt64>
  private let bitmapLengths: ScalarView<UInt64>

  /// The key of `field` = `value`.
  public static func key(_ field: String, _ value: String) -> String { field + "\u{1F}" + value.lowercased() }

  /// Serialises keyword postings of `items` (doc id = position).
  /// Returns the file and the number of keywords.
  public static func write(_ items: [CatalogItem]) -> (bytes: [UInt8], keys: Int) {
    var writer = Writer()
    for item in items { writer.add(item) }
    let (file, keys) = writer.finish()
    return (file.bytes, keys)
  }

  /// Accumulates keyword postings item by item (doc id = order of `add`): one doc list per key,
  /// 4 bytes per posting. Not thread-safe.
  ///
  /// Each distinct raw value (a brand, a tag, an attribute, a category path) is mapped to its key's
  /// list once, so adding an item makes no key text: a lookup per keyword of the item.
  public struct Writer: Sendable {
    /// Doc lists by list number, and the keys by list number.
    private var lists: [[UInt32]] = []
    private var keys = StringNumbering()
    private var next: UInt32 = 0
    /// The lists of each category path's keys, of each raw brand, tag and attribute, and of in_stock.
    private var categoryLists: [[String]: [Int]] = [:]
    private var brandList: [String: Int] = [:]
    private var tagList: [String: Int] = [:]
    private var attributeList: [AttributeKey: Int] = [:]
    private var stockList: [Bool: Int] = [:]
    /// An attribute's name and value, a number by its bits: 0 and -0 are equal as numbers but may
    /// write different keys.
    private struct AttributeKey: Hashable, Sendable {
      let name: String
      let text: String?
      let bits: UInt64
    }
    /// No keywords yet.
    public init() {}

    /// Adds the keywords of `item` as the next doc. Amortised O(keywords of the item).
    public mutating func add(_ item: CatalogItem) {
      let doc = next
      next += 1
      // A category filter names a path prefix (home/lighting) or any single level (lighting). A
      // catalog has far fewer paths than items: each path's keys are made once.
      let categories: [Int]
      if let known = categoryLists[item.categoryPath] {
        categories = known
      } else {
        var names = Set(IndexGeneration.categoryPrefixes(item.categoryPath).map { $0.lowercased() })
        for part in item.categoryPath { names.insert(part.lowercased()) }
        categories = names.map { list(of: KeywordIndex.key("category", $0)) }
        categoryLists[item.categoryPath] = categories
      }
      for c in categories { lists[c].append(doc) }
      lists[brandList[item.brand] ?? learn(\.brandList, item.brand, key("brand", item.brand))].append(doc)
      // Tags differing only in case are one key: the doc once in its list.
      var tags: [Int] = []
      for tag in item.tags {
        let list = tagList[tag] ?? learn(\.tagList, tag, key("tag", tag))
        if !tags.contains(list) { tags.append(list) }
      }
      for list in tags { lists[list].append(doc) }
      let stock = item.inStock ? "true" : "false"
      lists[stockList[item.inStock] ?? learn(\.stockList, item.inStock, key("in_stock", stock))].append(doc)
      for (name, value) in item.attributes {
        let memo: AttributeKey
        switch value {
        case .text(let text): memo = AttributeKey(name: name, text: text, bits: 0)
        case .number(let x): memo = AttributeKey(name: name, text: nil, bits: x.bitPattern)
        }
        lists[attributeList[memo] ?? learn(\.attributeList, memo, key("attr." + name, value.keyword))].append(doc)
      }
    }

    /// The list number of `key`, given on first sight.
    private mutating func list(of key: String) -> Int {
      let (n, isNew) = keys.number(of: key)
      if isNew { lists.append([]) }
      return n
    }

    /// The list of `key`, now memoised under `raw` in `memo`.
    private mutating func learn<Raw: Hashable>(_ memo: WritableKeyPath<Self, [Raw: Int]>, _ raw: Raw, _ key: String) -> Int {
      let n = list(of: key)
      self[keyPath: memo][raw] = n
      return n
    }

    /// The finished file and the number of keywords. O(postings).
    public func finish() -> (file: PendingFile, keys: Int) {
      let sortedKeys = StringColumn.utf8Sorted(keys.strings)
      var blob: [UInt8] = []
      var offsets: [UInt64] = []
      var lengths: [UInt64] = []
      for k in sortedKeys {
        let bitmap = RoaringBitmap(lists[keys.find(k)!])
        bitmap.optimise()
        while blob.count % 32 != 0 { blob.append(0) }
        let frozen = bitmap.frozenBytes
        offsets.append(UInt64(blob.count))
        lengths.append(UInt64(frozen.count))
        blob += frozen
      }
      var w = SectionedFileWriter()
      StringColumn.write(sortedKeys, into: &w)
      w.add(offsets)
      w.add(lengths)
      w.add(bytes: blob)
      return (w.file(kind: kind, formatVersion: version), sortedKeys.count)
    }
  }

  /// Opens a keywords file.
  public init(_ region: ByteRegion, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: Self.version...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 5)
    keys = try StringColumn(f, first: 0, sorted: true)
    bitmapOffsets = try f.scalars(2, as: UInt64.self, expected: keys.count)
    bitmapLengths = try f.scalars(3, as: UInt64.self, expected: keys.count)
    let blobLength = UInt64(f.range(4).length)
    for i in 0..<keys.count {
      let o = bitmapOffsets[i], l = bitmapLengths[i]
      guard o % 32 == 0, o <= blobLength, l <= blobLength - o else {
        throw f.corrupt("bitmap \(i) (\(o)+\(l)) is misaligned or outside the bitmaps")
      }
    }
    file = f
  }

  /// Number of keywords.
  public var count: Int { keys.count }

  /// Whether any item has a keyword of `field` (e.g. `attr.group`). O(log keywords), no allocation.
  public func hasField(_ field: String) -> Bool { keys.containsPrefix(field + "\u{1F}") }

  /// Positions in `keys` of every keyword of `field` (its values in byte order). O(log keywords).
  public func keyRange(of field: String) -> Range<Int> { TermLookup(keys).prefixRange(field + "\u{1F}") }

  /// The value part of key `i` (what follows the field name).
  public func value(at i: Int) -> String {
    let key = keys[i]
    guard let separator = key.firstIndex(of: "\u{1F}") else { return key }
    return String(key[key.index(after: separator)...])
  }

  /// The documents of key `i` (zero-copy). Throws if the stored bitmap is corrupt.
  public func documents(at i: Int) throws -> RoaringBitmap {
    let length = Int(bitmapLengths[i])
    let address = try file.region.address(offset: file.range(4).offset + Int(bitmapOffsets[i]), length: length)
    guard let bitmap = RoaringBitmap.frozenView(address, count: length, owner: file.region) else {
      throw file.corrupt("bitmap of '\(keys[i])' is not a valid frozen Roaring bitmap")
    }
    return bitmap
  }

  /// The documents whose `field` has `value` (empty bitmap when none). Zero-copy over the file.
  /// Throws if the stored bitmap is corrupt.
  public func documents(_ field: String, _ value: String) throws -> RoaringBitmap {
    guard let i = keys.find(Self.key(field, value)) else { return RoaringBitmap() }
    return try documents(at: i)
  }
}
