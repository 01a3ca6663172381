import FunnelCore
import Testing

@Suite struct CandidateTests {
  @Test func keepsBestScorePerChannelAndEveryChannel() {
    var c = Candidate(doc: DocID(3))
    c.add(.similar, score: 0.4)
    c.add(.similar, score: 0.9)
    c.add(.similar, score: 0.1)
    c.add(.popular, score: 0.2)
    #expect(c.similarScore == 0.9)
    #expect(c.popularScore == 0.2)
    #expect(c.categoryScore == 0)
    #expect(c.channels == [.similar, .popular])
    #expect(c.channels.names == ["popular", "similar"])
  }

  @Test func errorDescriptionNamesKindAndField() {
    let e = FunnelError.invalidArgument(field: "count", "5000 is outside 1...1000")
    #expect(e.kind == .invalidArgument)
    #expect(e.description == "invalidArgument: count: 5000 is outside 1...1000")
  }

  @Test func docIDOrdersByPosition() {
    #expect(DocID(1) < DocID(2))
    #expect(DocID(7).index == 7)
  }
}
