import FunnelCore

/// A deterministic synthetic shop: a catalog and a behaviour history that read like a real
/// general-merchandise store (category trees, brands, log-normal prices, Zipfian popularity, sessions
/// with complementary purchases). It is the embedded default's data and the tests' fixture.
///
/// Equal `Configuration`s give equal stores on every machine. Generation is O(items + events).
public struct DemoStore: Sendable {
  /// Sizes and the seed of a generated store.
  public struct Configuration: Hashable, Sendable {
    /// Number of catalog items (>= 1).
    public var itemCount: Int
    /// Number of users with a history (>= 0).
    public var userCount: Int
    /// Mean shopping sessions per user over the history window.
    public var sessionsPerUser: Double
    /// Length of the history window ending at `endTimeMs`, in days.
    public var historyDays: Int
    /// End of the history (Unix ms): events fall in `(end - historyDays, end]`.
    public var endTimeMs: Int64
    /// Random seed.
    public var seed: UInt64

    /// The embedded default's size: 5,000 items, 3,000 users, about 120k events.
    public static func standard(endTimeMs: Int64) -> Configuration {
      Configuration(itemCount: 5_000, userCount: 3_000, sessionsPerUser: 6, historyDays: 30,
                    endTimeMs: endTimeMs, seed: 42)
    }

    /// A small store for fast tests: 400 items, 200 users.
    public static func small(endTimeMs: Int64 = 1_790_000_000_000) -> Configuration {
      Configuration(itemCount: 400, userCount: 200, sessionsPerUser: 5, historyDays: 30,
                    endTimeMs: endTimeMs, seed: 7)
    }

    /// Creates a configuration; see the field comments for units.
    public init(itemCount: Int, userCount: Int, sessionsPerUser: Double, historyDays: Int,
                endTimeMs: Int64, seed: UInt64) {
      self.itemCount = itemCount
      self.userCount = userCount
      self.sessionsPerUser = sessionsPerUser
      self.historyDays = historyDays
      self.endTimeMs = endTimeMs
      self.seed = seed
    }
  }

  /// The catalog; item `i` has id `SKU-<100000 + i>`.
  public let items: [CatalogItem]
  /// The behaviour history, ordered by time.
  public let events: [BehaviourEvent]
  /// Users that have a history, `U-<n>`.
  public let userIDs: [UserID]
  /// The configuration that produced this store.
  public let configuration: Configuration

  /// Generates the store described by `configuration`.
  public init(_ configuration: Configuration) {
    var items: [CatalogItem] = []
    items.reserveCapacity(configuration.itemCount)
    var events: [BehaviourEvent] = []
    Self.stream(configuration, embeddings: true, item: { items.append($0) }, userEvents: { events += $0 })
    events.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
    self.configuration = configuration
    self.items = items
    self.userIDs = (0..<configuration.userCount).map { "U-\($0 + 1)" }
    self.events = events
  }

  /// Streams the store of `configuration` without holding it: `item` gets each item in order, then
  /// `userEvents` each user's events in time order (users in order; the same events as
  /// `DemoStore(configuration)`, which sorts them all by time). Memory O(items) for a few compact
  /// columns, so `funnel generate demo` writes catalogs of tens of millions of items. Without
  /// `embeddings` items carry none (and the rest is unchanged).
  public static func stream(_ configuration: Configuration, embeddings: Bool,
                            item: (CatalogItem) throws -> Void, userEvents: ([BehaviourEvent]) throws -> Void) rethrows {
    precondition(configuration.itemCount > 0, "a demo store needs at least one item")
    var rng = SplitMix64(seed: configuration.seed)
    var embedder = Embedder(seed: configuration.seed)
    var facts = HistoryGenerator.ItemFacts()
    for i in 0..<configuration.itemCount {
      var next = makeItem(i, rng: &rng)
      // The embedding stream is separate, so the other fields do not depend on it.
      let vector = embedder.embedding(next)
      if embeddings { next.embedding = vector }
      facts.add(next)
      try item(next)
    }
    try HistoryGenerator(facts: facts, configuration: configuration).generate(rng: &rng, userEvents: userEvents)
  }

  /// Dimension of the demo embeddings.
  public static let embeddingDimension = 32

  /// Gives every item a unit embedding: its category's direction, plus its department's and brand's,
  /// plus noise, so that nearby vectors mean related items (as a trained two-tower model would give).
  /// Uses its own random stream, item after item.
  private struct Embedder {
    var rng: SplitMix64
    var directions: [String: [Float]] = [:]

    init(seed: UInt64) { rng = SplitMix64(seed: seed ^ 0x5EED_E3B0) }

    mutating func direction(_ key: String) -> [Float] {
      if let d = directions[key] { return d }
      let d = (0..<embeddingDimension).map { _ in Float(rng.logNormal(median: 1, sigma: 1) - 1.6) }
      directions[key] = d
      return d
    }

    mutating func embedding(_ item: CatalogItem) -> [Float] {
      let category = direction("c:" + item.category), department = direction("d:" + item.categoryPath[0])
      let brand = direction("b:" + item.brand)
      let v = (0..<embeddingDimension).map { j in
        category[j] + 0.5 * department[j] + 0.3 * brand[j] + 0.35 * Float(rng.unit() * 2 - 1)
      }
      let norm = max(1e-6, v.reduce(0) { $0 + $1 * $1 }.squareRoot())
      return v.map { $0 / norm }
    }
  }

  /// Item `i`, drawn from the main random stream.
  private static func makeItem(_ i: Int, rng: inout SplitMix64) -> CatalogItem {
    let categories = Vocabulary.categories
    // Categories get items in Zipfian proportion, so some aisles are deep and others shallow.
    let category = categories[rng.zipfIndex(categories.count, s: 0.6)]
    let department = category.path[0]
    let brands = Vocabulary.brandsByDepartment[department] ?? ["Generic"]
    let brand = brands[Int(rng.next() % UInt64(brands.count))]
    let noun = category.nouns[Int(rng.next() % UInt64(category.nouns.count))]
    let adjective = Vocabulary.adjectives[Int(rng.next() % UInt64(Vocabulary.adjectives.count))]
    let material = Vocabulary.materials[Int(rng.next() % UInt64(Vocabulary.materials.count))]
    let colour = Vocabulary.colours[Int(rng.next() % UInt64(Vocabulary.colours.count))]
    let price = (rng.logNormal(median: category.medianPrice, sigma: 0.45) * 100).rounded() / 100 + 0.99
    let title = "\(brand) \(adjective) \(material) \(noun), \(colour)"
    return CatalogItem(
      id: itemID(i), title: title, categoryPath: category.path, brand: brand,
      price: (price * 100).rounded() / 100, tags: [adjective, material, colour],
      inStock: rng.unit() >= 0.05, attributes: attributes(item: i, colour: colour, material: material))
  }

  /// The id of item `i`: `SKU-<100000 + i>`.
  public static func itemID(_ i: Int) -> ItemID { "SKU-\(100_000 + i)" }

  /// Attributes from their own random stream (per item), so adding them changed no other field:
  /// colour and material as text, a rating on every item, a weight on most, a shoe-style size on some.
  private static func attributes(item: Int, colour: String, material: String) -> [String: AttributeValue] {
    var rng = SplitMix64(seed: 0xA77 &+ UInt64(item) &* 0x9E37_79B9_7F4A_7C15)
    var result: [String: AttributeValue] = [
      "colour": .text(colour), "material": .text(material),
      "rating": .number((10 + rng.unit() * 40).rounded() / 10),
    ]
    if rng.unit() < 0.8 { result["weight_kg"] = .number((rng.logNormal(median: 0.8, sigma: 0.7) * 100).rounded() / 100) }
    if rng.unit() < 0.15 { result["size"] = .number(Double(36 + Int(rng.next() % 11))) }
    return result
  }
}
