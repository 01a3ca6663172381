import FunnelCore
import TextAnalysis
import MappedStorage

/// Live catalog changes laid over one mapped generation until the next generation folds them in.
///
/// - A known item whose price or stock changed (nothing else) keeps its doc id: the new values are
///   read from here instead of the mapped columns, so it keeps its neighbours and popularity.
/// - A known item whose text, brand, category, tags or attributes changed, and every new item, get a
///   doc id past the mapped ones (`baseCount + i`): they are searchable through `text` (BM25 over the
///   added items, built here) and recallable by their embeddings; the mapped doc of a changed item
///   is hidden.
/// - A deleted item's mapped doc is hidden and its id no longer resolves.
///
/// Built in O(changes + added text); immutable afterwards, so it is safe to share across threads.
/// `isChanged` is one bit test, so candidates of an unchanged catalog pay one branch.
public final class CatalogOverlay: Sendable {
  /// Number of mapped docs; added docs start here.
  public let baseCount: Int
  /// Items added past the mapped docs: doc `baseCount + i` is `added[i]`.
  public let added: [CatalogItem]
  /// Leaf category key (of the mapped table) of each added item: its deepest category path the
  /// generation knows, or `ItemTable.noParent` (new categories arrive with the next generation).
  @usableFromInline let addedLeaves: [UInt32]
  private let addedDocs: [String: UInt32]
  /// Ids whose mapped doc was deleted (and not added again).
  private let deletedIDs: Set<String>
  /// Mapped docs with new price or stock: their current item.
  private let patched: [UInt32: CatalogItem]
  /// One bit per mapped doc: patched or hidden.
  @usableFromInline let changedBits: [UInt64]
  /// One bit per mapped doc: deleted, or superseded by an added doc.
  private let hiddenBits: [UInt64]
  /// Mapped docs with changes, then every added doc (for rule recall over the overlay).
  public let changedDocs: [DocID]
  /// BM25 over the added items' text (title, brand, category path, tags), nil with none added.
  public let text: TextIndex?
  /// Unit embeddings of the added items (`dimension` floats each, zeros for an item without one).
  private let vectors: [Float]
  /// Embedding dimension of the added items (0: none has one).
  public let dimension: Int
  /// The position in the change feed this overlay includes (the feed's last entry id).
  public let through: String
  /// Number of changes folded (after collapsing repeated changes of one item).
  public let changeCount: Int

  /// The overlay of `changes` (in feed order; a later change of an item replaces an earlier one)
  /// over `items`. Upserts must carry embeddings of `dimension` values or none (checked by callers).
  public init(_ changes: [CatalogChange], over items: ItemTable, through: String, analyzer: TextAnalyzer = .plain,
              fields: SearchFields = .uniform) {
    var latest: [String: CatalogChange] = [:]
    var order: [String] = []
    for change in changes {
      if latest.updateValue(change, forKey: change.itemID) == nil { order.append(change.itemID) }
    }
    baseCount = items.count
    let words = (items.count + 63) / 64
    var changedBits = [UInt64](repeating: 0, count: words), hiddenBits = changedBits
    var added: [CatalogItem] = [], deletedIDs: Set<String> = [], patched: [UInt32: CatalogItem] = [:]
    var changedDocs: [DocID] = []
    func mark(_ doc: DocID, hidden: Bool) {
      changedBits[doc.index >> 6] |= 1 << UInt64(doc.index & 63)
      if hidden { hiddenBits[doc.index >> 6] |= 1 << UInt64(doc.index & 63) }
      changedDocs.append(doc)
    }
    for id in order {
      let base = items.doc(for: id)
      switch latest[id]! {
      case .delete:
        if let base {
          mark(base, hidden: true)
          deletedIDs.insert(id)
        }
      case .upsert(let item):
        if let base {
          let old = items.item(base)
          if old.title == item.title && old.brand == item.brand && old.categoryPath == item.categoryPath
            && old.tags == item.tags && old.attributes == item.attributes {
            var current = old
            current.price = item.price
            current.inStock = item.inStock
            patched[base.rawValue] = current
            mark(base, hidden: false)
            continue
          }
          mark(base, hidden: true)
        }
        added.append(item)
      }
    }
    let dimension = added.first { !$0.embedding.isEmpty }?.embedding.count ?? 0
    var vectors = [Float](repeating: 0, count: dimension * added.count)
    var addedDocs: [String: UInt32] = [:]
    var addedLeaves: [UInt32] = []
    for (i, item) in added.enumerated() {
      let doc = UInt32(items.count + i)
      addedDocs[item.id] = doc
      changedDocs.append(DocID(rawValue: doc))
      addedLeaves.append(Self.knownLeaf(item.categoryPath, in: items))
      if item.embedding.count == dimension, dimension > 0 {
        let norm = item.embedding.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if norm > 0, norm.isFinite {
          for j in 0..<dimension { vectors[i * dimension + j] = item.embedding[j] / norm }
        }
      }
    }
    if added.isEmpty {
      text = nil
    } else {
      var writer = TextIndex.Writer(analyzer: analyzer)
      for item in added { writer.add(fields: fields.texts(item)) }
      let image = writer.finish().file.bytes
      // The image was just written by the same code that reads it: it cannot fail to open.
      text = try! TextIndex(ByteRegion(copying: image, name: "overlay text"), documentCount: added.count, verifyChecksum: false)
    }
    self.added = added
    self.addedLeaves = addedLeaves
    self.addedDocs = addedDocs
    self.deletedIDs = deletedIDs
    self.patched = patched
    self.changedBits = changedBits
    self.hiddenBits = hiddenBits
    self.changedDocs = changedDocs
    self.vectors = vectors
    self.dimension = dimension
    self.through = through
    self.changeCount = order.count
  }

  /// The deepest prefix of `path` that is a category of `items`, or `noParent`.
  static func knownLeaf(_ path: [String], in items: ItemTable) -> UInt32 {
    var prefixes = IndexGeneration.categoryPrefixes(path)
    while let key = prefixes.popLast() {
      if let k = items.categoryKeys.find(key) { return UInt32(k) }
    }
    return ItemTable.noParent
  }

  /// Whether `doc` is added, or a mapped doc with changes (its stored fields come from here). O(1).
  @inlinable @inline(__always) public func isChanged(_ doc: DocID) -> Bool {
    let i = doc.index
    return i >= baseCount || changedBits[i >> 6] & (1 << UInt64(i & 63)) != 0
  }

  /// Whether mapped `doc` is deleted or superseded by an added doc. O(1).
  @inline(__always) public func isHidden(_ doc: DocID) -> Bool {
    let i = doc.index
    return i < baseCount && hiddenBits[i >> 6] & (1 << UInt64(i & 63)) != 0
  }

  /// The current item of a changed doc: added or patched; nil for a hidden or unchanged one.
  public func item(_ doc: DocID) -> CatalogItem? {
    if doc.index >= baseCount { return added[doc.index - baseCount] }
    return patched[doc.rawValue]
  }

  /// `doc(for:)` over the overlay: `.some(nil)` for a deleted id, `.some(doc)` for an added one,
  /// nil when the overlay does not decide (the mapped table does).
  func resolve(_ id: String) -> DocID?? {
    if let doc = addedDocs[id] { return .some(DocID(rawValue: doc)) }
    if deletedIDs.contains(id) { return .some(nil) }
    return nil
  }

  /// The unit embedding of added `doc`, or nil when it has none.
  public func vector(_ doc: DocID) -> ArraySlice<Float>? {
    let i = doc.index - baseCount
    guard dimension > 0, i >= 0, i < added.count, added[i].embedding.count == dimension else { return nil }
    return vectors[(i * dimension)..<((i + 1) * dimension)]
  }

  /// The `k` added items most similar (cosine) to `query` (any norm), best first: an exact scan, as
  /// the overlay holds few items. O(added x dimension).
  public func nearest(_ query: [Float], k: Int) -> [(DocID, Float)] {
    guard dimension > 0, query.count == dimension, k > 0 else { return [] }
    let norm = query.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    guard norm > 0, norm.isFinite else { return [] }
    var heap = TopK(capacity: k)
    vectors.withUnsafeBufferPointer { v in
      for i in 0..<added.count where added[i].embedding.count == dimension {
        var dot: Float = 0
        for j in 0..<dimension { dot += v[i * dimension + j] * query[j] }
        heap.offer(DocID(rawValue: UInt32(baseCount + i)), dot / norm)
      }
    }
    return heap.sortedDescending()
  }
}
