import Bitmaps
import FunnelCore
import IndexFormat
import Synchronization

/// Resolves the atomic sub-queries of a filter (one term, one range, in canonical form) to bitmaps
/// through two cache levels: an in-process LRU, then a shared cache (Redis, for all replicas), then
/// the index. Keys carry the generation's version, so a new generation never sees stale entries.
///
/// Keyword terms are zero-copy views of the keywords file (about a microsecond), cheaper than any
/// network round trip: they use the LRU only. Ranges and id lists cost a column scan, O(items): they
/// use both levels. Thread-safe; hit counts are exposed for `Admin.Status`.
public final class SubQueryResolver: Sendable {
  /// Hits and misses per level since start.
  public struct Statistics: Hashable, Sendable {
    public var localHits = 0
    public var sharedHits = 0
    public var misses = 0

    /// Counts as given.
    public init(localHits: Int = 0, sharedHits: Int = 0, misses: Int = 0) {
      self.localHits = localHits
      self.sharedHits = sharedHits
      self.misses = misses
    }

    /// Fraction of lookups served by the LRU.
    public var localHitRate: Double { total == 0 ? 0 : Double(localHits) / Double(total) }
    /// Fraction of lookups served by the shared cache.
    public var sharedHitRate: Double { total == 0 ? 0 : Double(sharedHits) / Double(total) }
    /// All lookups.
    public var total: Int { localHits + sharedHits + misses }
  }

  private let local: LRUBitmapCache
  private let shared: (any BitmapCache)?
  private let statistics = Mutex(Statistics())

  /// A resolver with an LRU of `localCapacity` bitmaps and an optional shared cache.
  public init(localCapacity: Int = 4_096, shared: (any BitmapCache)?) {
    self.local = LRUBitmapCache(capacity: localCapacity)
    self.shared = shared
  }

  /// Hit counts so far.
  public var stats: Statistics { statistics.withLock { $0 } }

  /// Compiles `expression` for `generation`, resolving every range clause to a bitmap through the caches.
  public func compile(_ expression: FilterExpression, generation: IndexGeneration) async throws -> CompiledFilter {
    var resolved: [String: RoaringBitmap] = [:]
    for clause in expression.atomicClauses where clause.isScan {
      resolved[clause.canonical] = try await bitmap(for: clause, generation: generation)
    }
    return try CompiledFilter(expression, generation: generation, resolved: resolved)
  }

  private func bitmap(for clause: FilterExpression, generation: IndexGeneration) async throws -> RoaringBitmap {
    let key = generation.version + "|" + clause.canonical
    if let hit = local.get(key) {
      statistics.withLock { $0.localHits += 1 }
      return hit
    }
    if let shared, let hit = await shared.get(key) {
      statistics.withLock { $0.sharedHits += 1 }
      local.put(key, hit)
      return hit
    }
    statistics.withLock { $0.misses += 1 }
    let computed = try CompiledFilter(clause, generation: generation).documents()
    computed.optimise()
    local.put(key, computed)
    if let shared { await shared.put(key, computed) }
    return computed
  }
}

extension FilterExpression {
  /// Every term and range clause of the expression, in order.
  public var atomicClauses: [FilterExpression] {
    switch self {
    case .and(let a, let b), .or(let a, let b): a.atomicClauses + b.atomicClauses
    case .not(let a): a.atomicClauses
    case .term, .range: [self]
    }
  }

  /// Whether resolving this clause scans a column (ranges) rather than reading one stored bitmap.
  public var isScan: Bool {
    if case .range = self { return true }
    return false
  }

  /// The canonical text of an atomic clause: field, lower-cased value, normalised range bounds
  /// (`price:[10 TO 50}`), so equal sub-queries written differently share a cache entry.
  public var canonical: String {
    switch self {
    case .term(let field, let value): return "\(field.name):\(value)"
    case .range(let field, let low, let lowInclusive, let high, let highInclusive):
      let l = low.map { "\($0)" } ?? "*", h = high.map { "\($0)" } ?? "*"
      return "\(field.name):\(lowInclusive ? "[" : "{")\(l) TO \(h)\(highInclusive ? "]" : "}")"
    case .and, .or, .not: return "(compound)"
    }
  }
}
