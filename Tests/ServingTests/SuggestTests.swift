import FunnelCore
import FunnelTestSupport
import Serving
import Testing

/// Autocomplete through the engine: catalog phrases, queries others searched and found, the
/// user's categories first, and bad prefixes named.
@Suite struct SuggestTests {
  @Test func catalogPhrasesCompleteTheTypedWord() async throws {
    let (engine, _) = TestEngines.engine()
    let answer = try await engine.suggest(SuggestInput(prefix: "Mu", count: 10))
    #expect(!answer.suggestions.isEmpty)
    #expect(answer.suggestions.allSatisfy { $0.text.hasPrefix("mu") && $0.kind == .catalog })
    let mug = try #require(answer.suggestions.first { $0.text.hasPrefix("mug") })
    #expect(mug.category.hasSuffix("mugs"), "\(mug)")
    // A finished word completes with the phrases that continue it.
    let pairs = try await engine.suggest(SuggestInput(prefix: "ceramic ", count: 10)).suggestions
    #expect(!pairs.isEmpty && pairs.allSatisfy { $0.text.hasPrefix("ceramic ") }, "\(pairs)")
    // Accents and case fold as the index's analysis does.
    #expect(try await engine.suggest(SuggestInput(prefix: "CÉRA", count: 3)).suggestions.first?.text.hasPrefix("cera") == true)
  }

  @Test func queriesThatFoundSomethingAreSuggestedFirst() async throws {
    let (engine, _) = TestEngines.engine()
    for _ in 0..<3 { _ = try await engine.search(SearchInput(query: "Ceramic shower", count: 5)) }
    for _ in 0..<5 { _ = try await engine.search(SearchInput(query: "ceramic qqzzxxyy", count: 5)) }
    let suggestions = try await engine.suggest(SuggestInput(prefix: "cer", count: 5)).suggestions
    #expect(suggestions.first?.text == "ceramic shower" && suggestions.first?.kind == .query, "\(suggestions)")
    #expect(!suggestions.contains { $0.text.contains("qqzz") }, "a query that found nothing is not suggested")
    // Twice is not enough to be suggested.
    for _ in 0..<2 { _ = try await engine.search(SearchInput(query: "ceramic bath", count: 5)) }
    #expect(!(try await engine.suggest(SuggestInput(prefix: "ceramic b", count: 5))).suggestions.contains { $0.kind == .query })
  }

  @Test func theUsersCategoriesComeFirst() async throws {
    let (engine, _) = TestEngines.engine()
    let anonymous = try await engine.suggest(SuggestInput(prefix: "s", count: 30)).suggestions
    // A phrase below the top whose category the user will like.
    let target = try #require(anonymous.dropFirst(5).first { !$0.category.isEmpty })
    let items = TestEngines.store.items.filter { $0.category == target.category }.prefix(5)
    let events = items.enumerated().map { k, item in
      EventInput(eventID: "suggest-\(k)", userID: "suggest-user", itemID: item.id, kind: .view, timestampMs: TestEngines.nowMs - Int64(k))
    }
    _ = try await engine.track(events)
    let personal = try await engine.suggest(SuggestInput(prefix: "s", userID: "suggest-user", count: 30)).suggestions
    let before = try #require(anonymous.firstIndex { $0.text == target.text })
    let after = try #require(personal.firstIndex { $0.text == target.text })
    #expect(after < before, "\(target.text) in \(target.category): \(before) -> \(after)")
  }

  @Test func badPrefixesAndCountsAreNamed() async throws {
    let (engine, _) = TestEngines.engine()
    for (input, field) in [(SuggestInput(prefix: ""), "prefix"), (SuggestInput(prefix: "  --  "), "prefix"),
                           (SuggestInput(prefix: String(repeating: "a", count: 101)), "prefix"),
                           (SuggestInput(prefix: "mu", count: 51), "count"), (SuggestInput(prefix: "mu", userID: "u\u{1}"), "user_id")] {
      do {
        _ = try await engine.suggest(input)
        Issue.record("accepted \(field)")
      } catch let error as FunnelError {
        #expect(error.kind == .invalidArgument && error.message.hasPrefix(field), "\(error.message)")
      }
    }
  }
}
