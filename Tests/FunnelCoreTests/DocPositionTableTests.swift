import FunnelCore
import Testing

@Suite struct DocPositionTableTests {
  /// Random inserts and lookups, through several doublings, agree with a dictionary.
  @Test func agreesWithADictionary() {
    var rng = SplitMix64(seed: 9)
    var table = DocPositionTable(capacity: 4)
    var reference: [DocID: Int] = [:]
    for step in 0..<20_000 {
      // Ids up to 2^32 - 2 (the highest id is the empty slot's), many repeats.
      let raw = step % 3 == 0 ? UInt32.max - 1 - UInt32(rng.next() % 50) : UInt32(rng.next() % 8_000)
      let doc = DocID(rawValue: raw)
      let existing = table.positionOrInsert(doc, position: step)
      #expect(existing == reference[doc], "step \(step), doc \(raw)")
      if reference[doc] == nil { reference[doc] = step }
    }
    #expect(table.count == reference.count)
    for (doc, position) in reference { #expect(table.position(of: doc) == position) }
    #expect(table.position(of: DocID(rawValue: 9_999)) == nil)
  }
}
