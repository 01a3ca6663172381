import Bitmaps
import DemoCatalog
import FunnelCore
import IndexFormat
import Recall
import Testing

/// Property test: the bitmap evaluation of random filter expressions over the index equals a
/// brute-force evaluation of the same expression over the stored catalog (`FilterExpression.matches`).
@Suite struct CompiledFilterTests {
  static let store = RecallChannelTests.store
  static let generation = RecallChannelTests.generation

  /// A random expression over values that exist in the catalog (and a few that do not).
  static func randomExpression(_ rng: inout SplitMix64, depth: Int = 0) -> String {
    let items = store.items
    func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
    if depth < 3, rng.unit() < 0.45 {
      let a = randomExpression(&rng, depth: depth + 1), b = randomExpression(&rng, depth: depth + 1)
      switch rng.next() % 4 {
      case 0: return "(\(a) AND \(b))"
      case 1: return "(\(a) OR \(b))"
      case 2: return "NOT \(a)"
      default: return "\(a) -\(b)"
      }
    }
    let item = pick(items)
    if rng.unit() < 0.3 {
      switch rng.next() % 6 {
      case 0: return "attr.colour:\"\(item.attributes["colour"]?.keyword ?? "none")\""
      case 1: return "attr.rating:\(pick(["[", "{"]))\(1 + Int(rng.unit() * 2)).5 TO \(3 + Int(rng.unit() * 2))\(pick(["]", "}"]))"
      case 2: return "attr.weight_kg:\(pick([">", ">=", "<", "<="]))\(item.attributes["weight_kg"]?.number ?? 1)"
      case 3: return "attr.size:\(36 + Int(rng.next() % 11))"
      case 4: return "attr.rating:\(item.attributes["rating"]?.number ?? 3)"
      default: return rng.unit() < 0.5 ? "attr.nosuch:[1 TO 2]" : "attr.material:\"\(item.attributes["material"]?.keyword ?? "x")\""
      }
    }
    switch rng.next() % 8 {
    case 0: return "category:\(pick(item.categoryPath))"
    case 1: return "category:\"\(IndexGeneration.categoryPrefixes(item.categoryPath)[Int(rng.next() % 2)])\""
    case 2: return "brand:\"\(item.brand)\""
    case 3: return "tag:\"\(pick(item.tags))\""
    case 4: return "in_stock:\(rng.unit() < 0.5)"
    case 5: return "price:\(pick(["[", "{"]))\(Int(rng.unit() * 30)) TO \(30 + Int(rng.unit() * 100))\(pick(["]", "}"]))"
    case 6: return "price:\(pick([">", ">=", "<", "<="]))\(item.price)"
    default: return rng.unit() < 0.5 ? "id:\(item.id)" : "brand:nosuchbrand"
    }
  }

  @Test func bitmapEvaluationEqualsBruteForce() throws {
    var rng = SplitMix64(seed: 2026)
    for _ in 0..<300 {
      let text = Self.randomExpression(&rng)
      let expression = try #require(try FilterParser.parse(text), "\(text)")
      let compiled = try CompiledFilter(expression, generation: Self.generation)
      let brute = Self.store.items.enumerated().filter { expression.matches($0.element) }.map { UInt32($0.offset) }
      #expect(compiled.documents().values == brute, "\(text)")
      for d in stride(from: 0, to: Self.store.items.count, by: 37) {
        #expect(compiled.matches(DocID(d)) == expression.matches(Self.store.items[d]), "\(text) doc \(d)")
      }
    }
  }

  @Test func ruleRecallReturnsMatchingItemsByPopularity() throws {
    let expression = try #require(try FilterParser.parse("category:kitchen AND price:<20"))
    let filter = try CompiledFilter(expression, generation: Self.generation)
    var collector = CandidateCollector()
    RuleRecall(filter: filter).recall(RecallRequest(), in: Self.generation, quota: 1_000, into: &collector)
    #expect(collector.candidates.count == filter.documents().count, "a large quota returns every match")
    #expect(collector.candidates.allSatisfy { filter.matches($0.doc) && $0.channels == .rule })
  }
}
