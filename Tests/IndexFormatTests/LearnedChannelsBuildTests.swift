import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import Testing

/// The behaviour tables the builder adds beside ItemCF — Swing, session co-occurrence, user-based
/// CF lists, learned factors — against brute-force computations on small histories.
@Suite struct LearnedChannelsBuildTests {
  static let now: Int64 = 1_800_000_000_000

  static func items(_ n: Int) -> [CatalogItem] {
    (0..<n).map { CatalogItem(id: "i\($0)", title: "item \($0)", categoryPath: ["c"], brand: "", price: 1) }
  }

  static func purchase(_ user: String, _ item: Int, at ms: Int64) -> BehaviourEvent {
    BehaviourEvent(eventID: "\(user)-\(item)-\(ms)", userID: user, itemID: "i\(item)", kind: .purchase, timestampMs: ms)
  }

  static func row(_ table: NeighbourTable, _ doc: Int) -> [(Int, Float)] {
    table.row(DocID(doc)).map { (Int(table.neighbours[$0]), table.scores[$0]) }
  }

  @Test func swingMatchesTheDefinition() throws {
    var rng = SplitMix64(seed: 5)
    let itemCount = 12
    var baskets: [String: Set<Int>] = [:]
    for u in 0..<15 {
      var basket = Set<Int>()
      for _ in 0..<Int.random(in: 2...6, using: &rng) { basket.insert(Int.random(in: 0..<itemCount, using: &rng)) }
      baskets["u\(u)"] = basket
    }
    let events = baskets.sorted { $0.key < $1.key }.flatMap { user, basket in basket.sorted().map { Self.purchase(user, $0, at: Self.now - 1_000) } }
    let generation = try GenerationBuilder().build(items: Self.items(itemCount), events: events, nowMs: Self.now, version: "s").open()
    let swing = try #require(generation.swing)
    let users = baskets.filter { $0.value.count > 1 }
    for i in 0..<itemCount {
      var expected = [Int: Double]()
      let holders = users.filter { $0.value.contains(i) }.sorted { $0.key < $1.key }
      for (a, (_, x)) in holders.enumerated() {
        for (_, y) in holders.dropFirst(a + 1) {
          let common = x.intersection(y)
          guard common.count > 1 else { continue }
          let w = 1 / (Double(x.count).squareRoot() * Double(y.count).squareRoot()) / (1 + Double(common.count))
          for j in common where j != i { expected[j, default: 0] += w }
        }
      }
      let top = expected.values.max() ?? 1
      let got = Self.row(swing, i)
      #expect(got.count == expected.count, "item \(i)")
      for (j, score) in got { #expect(abs(Double(score) - expected[j, default: -1] / top) < 1e-4, "item \(i) neighbour \(j)") }
    }
  }

  @Test func sessionsPairOnlyWithinAVisitAndNearerInTimeIsCloser() throws {
    let t = Self.now - 86_400_000
    // One visit: 0, 1 a minute later, 2 twenty minutes later; then, two hours on, a visit of 3 and 4.
    let events = [Self.purchase("u", 0, at: t), Self.purchase("u", 1, at: t + 60_000), Self.purchase("u", 2, at: t + 1_200_000),
                  Self.purchase("u", 3, at: t + 9_000_000), Self.purchase("u", 4, at: t + 9_060_000)]
    let generation = try GenerationBuilder().build(items: Self.items(5), events: events, nowMs: Self.now, version: "v").open()
    let sessions = try #require(generation.sessions)
    let row0 = Self.row(sessions, 0)
    #expect(row0.map(\.0) == [1, 2], "same visit only, the nearer in time first")
    #expect(row0[0].1 == 1 && row0[1].1 < 0.5, "exp(-19 min / 10 min) relative to exp(-1/10)")
    #expect(Self.row(sessions, 3).map(\.0) == [4])
  }

  @Test func userCFListsWhatSimilarUsersHaveThatTheUserDoesNot() throws {
    let t = Self.now - 3_600_000
    let baskets: [(String, [Int])] = [("a", [0, 1, 2]), ("b", [0, 1, 3]), ("c", [0, 1, 3, 4]), ("d", [5, 6])]
    let events = baskets.flatMap { user, items in items.map { Self.purchase(user, $0, at: t) } }
    let generation = try GenerationBuilder().build(items: Self.items(7), events: events, nowMs: Self.now, version: "u").open()
    let users = try #require(generation.users)
    let a = try #require(users.row("a"))
    let list = users.list(a).map { (generation.items.id($0.0), $0.1) }
    #expect(list.map(\.0) == ["i3", "i4"], "held by both neighbours, then by one; nothing a has, nothing from d")
    #expect(list[0].1 == 1 && list[1].1 < 1)
    #expect(users.row("nobody") == nil && users.factors(a) == nil, "no factors in this build")
    #expect(users.row("d") == nil, "no one shares d's items: no list, no row")
  }

  @Test func factorsAreServedForInnerProductSearch() throws {
    let dimension = 4
    var rng = SplitMix64(seed: 9)
    let items = Self.items(60)
    var itemFactors: [ItemID: [Float]] = [:]
    for item in items.prefix(55) { itemFactors[item.id] = (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
    let user: [Float] = [0.5, -1, 0.25, 2]
    let factors = LearnedFactors(model: "als", dimension: dimension, items: itemFactors, users: ["u": user, "z": [0, 0, 0, 0]])
    var options = GenerationBuilder.Options()
    options.factors = factors
    let events = [Self.purchase("u", 1, at: Self.now - 1_000), Self.purchase("u", 2, at: Self.now - 1_000)]
    let generation = try GenerationBuilder(options: options).build(items: items, events: events, nowMs: Self.now, version: "f").open()
    let index = try #require(generation.factors)
    let users = try #require(generation.users)
    #expect(index.dimension == dimension + 1 && users.dimension == dimension)
    let row = try #require(users.row("u"))
    #expect(try #require(users.factors(row)) == user)
    #expect(users.factors(try #require(users.row("z"))) == nil, "all-zero factors read as none")
    // Scaled back, the stored prefix gives the raw inner product, for every item the factors know.
    for (d, item) in items.enumerated() {
      let raw = factors.score(user: "u", item: item.id)
      let served = index.prefixDot(DocID(d), user) * users.itemScale
      if let raw { #expect(abs(raw - served) < 1e-4, "\(item.id)") } else { #expect(served == 0) }
    }
    // The index orders by inner product: the top of an exact scan with [u, 0] is the top by u . v.
    let best = items.compactMap { item in factors.score(user: "u", item: item.id).map { (item.id, $0) } }.max { $0.1 < $1.1 }!
    let found = index.search(user + [0], k: 5, ef: 100)
    #expect(generation.items.id(found[0].0) == best.0)
  }

  @Test func malformedFactorFilesAreRefusedWithTheLine() throws {
    let dir = NSTemporaryDirectory() + "factors-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try #"{"model": "bpr"}"#.write(toFile: dir + "/factors.json", atomically: true, encoding: .utf8)
    try "i1\t0.5 1\ni2\t1 2\n".write(toFile: dir + "/items.tsv", atomically: true, encoding: .utf8)
    try "u1\t0.5 nan\n".write(toFile: dir + "/users.tsv", atomically: true, encoding: .utf8)
    #expect { try LearnedFactors.read(directory: dir) } throws: { ($0 as? FunnelError)?.message.contains("users.tsv:1") == true }
    try "u1\t0.5 1 3\n".write(toFile: dir + "/users.tsv", atomically: true, encoding: .utf8)
    #expect(throws: FunnelError.self) { try LearnedFactors.read(directory: dir) }
    try "u1\t0.5 1\n".write(toFile: dir + "/users.tsv", atomically: true, encoding: .utf8)
    let read = try LearnedFactors.read(directory: dir)
    #expect(read.model == "bpr" && read.dimension == 2 && read.score(user: "u1", item: "i2") == 2.5)
  }
}
