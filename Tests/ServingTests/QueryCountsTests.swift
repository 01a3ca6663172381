import Serving
import Testing

@Suite struct QueryCountsTests {
  @Test func frequentQueriesSurviveAFloodOfRareOnesAndMemoryStaysBounded() {
    let counts = QueryCounts(capacity: 50)
    for round in 0..<200 {
      for _ in 0..<3 { counts.record("Ceramic Mug") }
      counts.record("rare query \(round)")
      counts.record("another rare \(round)")
    }
    let top = counts.top(1_000)
    #expect(top.count <= 50, "bounded by the capacity")
    #expect(top.first?.query == "ceramic mug" && top.first?.count == 600 && top.first?.error == 0)
    // A rare query that came in late carries its over-estimate: it is not a sure completion.
    #expect(counts.completions(of: "ceramic", minimumCount: 3).map(\.query) == ["ceramic mug"])
    #expect(counts.completions(of: "rare", minimumCount: 2).isEmpty)
  }
}
