import FunnelCore
import IndexFormat
import TextAnalysis

/// Builds the files of an index generation from a catalog and a behaviour history.
///
/// Popularity is the sum of event interest weights decayed with a half-life; item-to-item
/// neighbours are ItemCF co-occurrence in users' recent histories (`ItemCF`), down-weighting very
/// active users and normalised by the two items' user counts (cosine), so bestsellers do not become
/// everybody's neighbour. Cost: O(events + users * window^2 + items * log items).
public struct GenerationBuilder: Sendable {
  /// Tuning of the build.
  public struct Options: Hashable, Sendable {
    /// Half-life of an event's weight in popularity, in hours.
    public var popularityHalfLifeHours: Double = 72
    /// Half-life of an event's weight in the trending lists, in hours.
    public var trendingHalfLifeHours: Double = 12
    /// Neighbours kept per item.
    public var neighboursPerItem: Int = 50
    /// Most recent distinct items per user that form co-occurrence pairs.
    public var historyWindow: Int = 30
    /// Entries kept per category popularity list.
    public var categoryListLength: Int = 500
    /// Entries kept in the global popularity list.
    public var popularListLength: Int = 2_000
    /// HNSW links per node (2x on the bottom level) and build beam width.
    public var hnswM: Int = 16
    public var hnswEfConstruction: Int = 100
    /// Whether to build the vectors file when the catalog has embeddings.
    public var buildVectors = true
    /// How titles, brands, categories and tags are analysed for search (recorded in the manifest;
    /// queries are analysed the same way).
    public var textAnalyzer: TextAnalyzer = .english
    /// Search synonyms (`SynonymMap`'s file format), stored in the generation; nil: none.
    public var synonyms: String?
    /// How much each field counts in the search text (`SearchFields`).
    public var searchFields: SearchFields = .standard
    /// Swing: users kept per item (the most recent); 0 or 1 builds no Swing file.
    public var swingUsersPerItem: Int = 25
    /// Sessions: most distinct items kept per visit (0 or 1 builds no sessions file), the longest
    /// gap inside a visit (seconds), the time over which a pair's weight falls by e (seconds) and
    /// the half-life of a visit's weight by age (days).
    public var sessionItems: Int = 50
    public var sessionGapSeconds: UInt32 = 1_800
    public var sessionPairDecaySeconds: Double = 600
    public var sessionHalfLifeDays: Double = 90
    /// User-based CF: items kept per user's list (0 builds none), neighbour users per user, and the
    /// users per item looked through (the most recent).
    public var userCFListLength: Int = 50
    public var userCFNeighbours: Int = 20
    public var userCFUsersPerItem: Int = 200
    /// Learned item and user factors to serve (item factors as `factors.fnl`, user factors in
    /// `users.fnl`); nil: none.
    public var factors: LearnedFactors?

    /// The defaults above.
    public init() {}
  }

  /// Build options.
  public var options: Options

  /// A builder with `options`.
  public init(options: Options = Options()) { self.options = options }

  /// Builds the files of a generation named `version` as of `nowMs` (Unix ms), in memory. Events
  /// about unknown items are skipped and counted in the manifest. `sources` are recorded in the
  /// manifest. Precondition: item ids are unique (readers check this first). Large catalogs stream
  /// through `GenerationAccumulator` into a `GenerationDirectoryWriter` instead.
  public func build(items: [CatalogItem], events: [BehaviourEvent], nowMs: Int64, version: String,
                    sources: [GenerationManifest.SourceEntry] = []) -> BuiltGeneration {
    var accumulator = GenerationAccumulator(options: options, nowMs: nowMs)
    for item in items {
      do { try accumulator.add(item) } catch { preconditionFailure("\(error)") }
    }
    for event in events { accumulator.add(event) }
    var sink = MemoryGenerationSink()
    do {
      let manifest = try accumulator.finish(version: version, sources: sources, into: &sink)
      return BuiltGeneration(manifest: manifest, images: sink.images)
    } catch {
      preconditionFailure("an in-memory sink does not fail: \(error)")
    }
  }
}
