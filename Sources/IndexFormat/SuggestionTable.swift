import FunnelCore
import MappedStorage
import TextAnalysis

/// The optional `suggestions` file of a generation: catalog phrases a shopper may be typing, for
/// autocomplete. Phrases are the brands and the words and adjacent word pairs of titles, folded and
/// unstemmed (as typed), stop words left out; each has a weight (how many items have it) and the
/// leaf category most of those items are in (for personalising by the user's categories).
///
/// Sections: the sorted phrases (a `StringColumn`), weights (`Float`), leaf categories (`UInt32`,
/// `ItemTable.noParent` when none). Immutable; safe to share across threads. Lookups are a binary
/// search for the prefix's range, then a bounded scan.
public struct SuggestionTable: Sendable {
  /// The file's name inside a generation directory.
  public static let fileName = "suggestions.fnl"
  static let kind = "SUGG"
  static let version: UInt32 = 1

  /// Sorted phrases.
  public let phrases: StringColumn
  /// Items having each phrase.
  public let weights: ScalarView<Float>
  /// The leaf category most items of each phrase are in.
  public let leaves: ScalarView<UInt32>

  /// Accumulates phrases item by item: per phrase, the item count and a majority vote over the
  /// items' leaf categories (Boyer-Moore, O(1) memory a phrase). Not thread-safe.
  public struct Writer: Sendable {
    private struct Tally: Sendable { var items: Float = 0; var leaf: UInt32 = 0; var votes = 0 }
    private var tallies: [String: Tally] = [:]
    private let analyzer: TextAnalyzer
    /// Most phrases kept (the most frequent; single words before pairs at equal counts).
    public let maxPhrases: Int

    /// No phrases yet; titles are split into words with `analyzer`'s folding and stop words.
    public init(analyzer: TextAnalyzer, maxPhrases: Int = 200_000) {
      self.analyzer = analyzer
      self.maxPhrases = maxPhrases
    }

    /// Adds the phrases of an item with `title` and `brand` in leaf category `leaf`. O(title words).
    public mutating func add(title: String, brand: String, leaf: UInt32) {
      let words = analyzer.words(title).filter { $0.utf8.count >= 2 && $0.utf8.count <= 40 }
      // Each phrase once per item: a title's handful found by comparison, no hashing; long ones in a set.
      var phrases: [String] = []
      phrases.reserveCapacity(2 * words.count + 1)
      let long = words.count > 32
      var seen: Set<String> = []  // only for a long title
      func note(_ phrase: String) {
        if long ? seen.insert(phrase).inserted : !phrases.contains(phrase) { phrases.append(phrase) }
      }
      for word in words { note(word) }
      for i in words.indices.dropLast() { note(words[i] + " " + words[i + 1]) }
      let brandWords = analyzer.words(brand)
      if !brandWords.isEmpty, brandWords.count <= 4 { note(brandWords.joined(separator: " ")) }
      for phrase in phrases { Self.count(&tallies[phrase, default: Tally()], leaf: leaf) }  // one lookup per phrase
    }

    /// One more item with the phrase, in `leaf`: the majority vote of leaves (Boyer-Moore).
    private static func count(_ t: inout Tally, leaf: UInt32) {
      t.items += 1
      if t.votes == 0 {
        t.leaf = leaf
        t.votes = 1
      } else if t.leaf == leaf {
        t.votes += 1
      } else {
        t.votes -= 1
      }
    }

    /// The finished file, or nil when no item had a phrase. `leafKey` turns the leaf numbers given
    /// to `add` into the generation's category keys (they may be numbered only when all items are in).
    public func finish(leafKey: (UInt32) -> UInt32 = { $0 }) -> PendingFile? {
      guard !tallies.isEmpty else { return nil }
      // Pairs seen once are noise; single words stay (they complete what is typed).
      var kept = tallies.filter { $0.value.items >= 2 || !$0.key.contains(" ") }
      if kept.count > maxPhrases {
        let best = kept.sorted { a, b in
          a.value.items != b.value.items ? a.value.items > b.value.items : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }.prefix(maxPhrases)
        kept = Dictionary(uniqueKeysWithValues: best.map { ($0.key, $0.value) })
      }
      let sorted = StringColumn.utf8Sorted(kept.keys)
      var w = SectionedFileWriter()
      StringColumn.write(sorted, into: &w)
      w.add(sorted.map { kept[$0]!.items })
      w.add(sorted.map { leafKey(kept[$0]!.leaf) })
      return w.file(kind: kind, formatVersion: version)
    }
  }

  /// Opens a suggestions file of a generation with `categoryCount` categories.
  public init(_ region: ByteRegion, categoryCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: Self.version...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 4)
    phrases = try StringColumn(f, first: 0, sorted: true)
    weights = try f.scalars(2, as: Float.self, expected: phrases.count)
    leaves = try f.scalars(3, as: UInt32.self, expected: phrases.count)
    for i in 0..<leaves.count where Int(leaves[i]) >= categoryCount && leaves[i] != ItemTable.noParent {
      throw f.corrupt("phrase \(i)'s category \(leaves[i]) is past \(categoryCount) categories")
    }
  }

  /// Positions of the phrases beginning with `prefix` (folded as typed). O(log phrases).
  public func range(of prefix: String) -> Range<Int> { TermLookup(phrases).prefixRange(prefix) }
}
