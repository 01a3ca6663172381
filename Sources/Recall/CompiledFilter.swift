import Bitmaps
import FunnelCore
import IndexFormat
import MappedStorage

/// A filter expression bound to one generation: every keyword clause resolved to its Roaring bitmap
/// (zero-copy views over the keywords file), numeric clauses read from the price column or a
/// numeric attribute column.
///
/// `matches` tests one document without allocating (filtering candidates of every channel);
/// `documents()` evaluates the whole expression to a bitmap (rule-based recall). Immutable after
/// init; safe to share across threads.
public final class CompiledFilter: Sendable {
  indirect enum Node: Sendable {
    case and(Node, Node), or(Node, Node), not(Node)
    case set(RoaringBitmap)
    /// A range over a numeric column (nil: an attribute no item has a number for, so nothing matches).
    case range(ScalarView<Double>?, low: Double?, lowInclusive: Bool, high: Double?, highInclusive: Bool)
  }

  let root: Node
  let generation: IndexGeneration
  /// The expression, for docs a catalog overlay changed (their fields are not in the bitmaps).
  let expression: FilterExpression

  /// Binds `expression` to `generation`; clauses whose canonical text is in `resolved` use that
  /// bitmap (from `SubQueryResolver`'s caches). Throws if the index holds a corrupt bitmap.
  public init(_ expression: FilterExpression, generation: IndexGeneration, resolved: [String: RoaringBitmap] = [:]) throws {
    self.generation = generation
    self.expression = expression
    self.root = try Self.compile(expression, generation, resolved)
  }

  private static func compile(_ e: FilterExpression, _ g: IndexGeneration, _ resolved: [String: RoaringBitmap]) throws -> Node {
    if let bitmap = resolved[e.canonical] { return .set(bitmap) }
    switch e {
    case .and(let a, let b): return .and(try compile(a, g, resolved), try compile(b, g, resolved))
    case .or(let a, let b): return .or(try compile(a, g, resolved), try compile(b, g, resolved))
    case .not(let a): return .not(try compile(a, g, resolved))
    case .term(.id, let value):
      // Mapped docs only: the bitmap is cached per generation, while a catalog overlay's added docs
      // are numbered anew with each change (they are matched on their fields instead).
      return .set(g.items.overlaid(with: nil).doc(for: value).map { RoaringBitmap([$0.rawValue]) } ?? RoaringBitmap())
    case .term(let field, let value):
      return .set(try g.keywords.documents(field.name, value))
    case .range(let field, let low, let lowInclusive, let high, let highInclusive):
      let column: ScalarView<Double>?
      if case .attribute(let name) = field { column = g.attributes?.column(name) } else { column = g.items.prices }
      return .range(column, low: low, lowInclusive: lowInclusive, high: high, highInclusive: highInclusive)
    }
  }

  /// Whether `doc` satisfies the filter. O(expression size), no allocation for a doc the catalog
  /// overlay did not change; a changed one is matched on its current fields (a hidden one never is).
  public func matches(_ doc: DocID) -> Bool {
    if let overlay = generation.overlay, overlay.isChanged(doc) {
      guard let item = overlay.item(doc) else { return false }
      return expression.matches(item)
    }
    return Self.matches(root, doc)
  }

  private static func matches(_ node: Node, _ doc: DocID) -> Bool {
    switch node {
    case .and(let a, let b): return matches(a, doc) && matches(b, doc)
    case .or(let a, let b): return matches(a, doc) || matches(b, doc)
    case .not(let a): return !matches(a, doc)
    case .set(let bitmap): return bitmap.contains(doc.rawValue)
    case .range(let column, let low, let lowInclusive, let high, let highInclusive):
      guard let column else { return false }
      return inRange(column[doc.index], low, lowInclusive, high, highInclusive)
    }
  }

  /// Every document that satisfies the filter. O(items) at worst (NOT, price ranges scan a column).
  public func documents() -> RoaringBitmap { evaluate(root) }

  private func evaluate(_ node: Node) -> RoaringBitmap {
    switch node {
    case .and(let a, let b): return evaluate(a).intersection(evaluate(b))
    case .or(let a, let b): return evaluate(a).union(evaluate(b))
    case .not(let a): return RoaringBitmap(range: 0..<UInt32(generation.itemCount)).subtracting(evaluate(a))
    case .set(let bitmap): return bitmap
    case .range(let column, let low, let lowInclusive, let high, let highInclusive):
      guard let column else { return RoaringBitmap() }
      var docs: [UInt32] = []
      for d in 0..<generation.itemCount where Self.inRange(column[d], low, lowInclusive, high, highInclusive) {
        docs.append(UInt32(d))
      }
      return RoaringBitmap(docs)
    }
  }

  @inline(__always)
  private static func inRange(_ x: Double, _ low: Double?, _ lowInclusive: Bool, _ high: Double?, _ highInclusive: Bool) -> Bool {
    if x.isNaN { return false }  // an item without a number for the attribute
    if let low, lowInclusive ? x < low : x <= low { return false }
    if let high, highInclusive ? x > high : x >= high { return false }
    return true
  }
}

/// Rule-based recall: the items matching the request's filter, most popular first. Walks the global
/// popularity list first (cheap), then, if that leaves the quota unfilled, evaluates the filter over
/// the whole catalog and orders the rest by popularity.
public struct RuleRecall: RecallChannel {
  public let filter: CompiledFilter

  /// A channel over `filter`.
  public init(filter: CompiledFilter) { self.filter = filter }

  public var channel: ChannelSet { .rule }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    let table = generation.popularity
    var taken = 0
    for i in table.global.range where taken < quota && filter.matches(table.doc(i)) {
      collector.add(table.doc(i), channel: .rule, score: table.score(i))
      taken += 1
    }
    guard taken < quota else { return }
    var rest: [DocID: Float] = [:]
    for raw in filter.documents().values {
      let doc = DocID(rawValue: raw)
      if doc.index < table.itemPopularity.count, !collector.contains(doc) { rest[doc] = table.itemPopularity[doc.index] }
    }
    for (doc, score) in TopK.best(rest, k: quota - taken) { collector.add(doc, channel: .rule, score: score) }
    // Docs the catalog overlay changed or added: their bitmap bits are stale or absent.
    if let overlay = generation.overlay {
      taken = collector.offered(by: .rule)
      for doc in overlay.changedDocs where taken < quota && !collector.contains(doc) && filter.matches(doc) {
        collector.add(doc, channel: .rule, score: doc.index < overlay.baseCount ? table.itemPopularity[doc.index] : 0)
        taken += 1
      }
    }
  }
}
