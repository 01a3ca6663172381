import FunnelCore
import FunnelTestSupport
import IndexBuilder
import IndexFormat
import Serving
import Testing

/// The checks before a generation is published: a sound rebuild passes; a truncated catalog and a
/// generation whose text index does not find items by their titles are refused, saying why.
@Suite struct GenerationValidatorTests {
  @Test func aSoundRebuildPassesAndBrokenOnesAreRefused() throws {
    let previous = TestEngines.sharedGeneration
    let validator = GenerationValidator(minItemRatio: 0.9, smokeQueries: 50)
    let sound = validator.check(previous, previous: previous)
    #expect(sound.passed, "\(sound.problems)")
    #expect(sound.smokeQueries == 50 && sound.smokeFound >= 45)

    let truncated = try GenerationBuilder().build(items: Array(TestEngines.store.items.prefix(200)), events: [], nowMs: TestEngines.nowMs,
                                                  version: "truncated").open()
    let refused = validator.check(truncated, previous: previous)
    #expect(!refused.passed && refused.problems.first?.contains("fewer than 0.9") == true, "\(refused.problems)")

    // Titles that share every word: no item can be told apart by its title.
    let blurred = TestEngines.store.items.map { item -> CatalogItem in
      var copy = item
      copy.title = "the same words for everything"
      return copy
    }
    let blind = validator.check(try GenerationBuilder().build(items: blurred, events: [], nowMs: TestEngines.nowMs, version: "blind").open(),
                                previous: previous)
    #expect(blind.problems.contains { $0.hasPrefix("smoke queries") }, "\(blind.problems)")
  }
}
