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
  ///
  /// Words are numbered as they are first seen and a phrase is a 64-bit key of its word numbers, so
  /// adding an item makes no phrase text and hashes each title token once (a memo from token to
  /// word); the phrases' text is made once each, in `finish`.
  public struct Writer: Sendable {
    private struct Tally: Sendable { var items: Float = 0; var leaf: UInt32 = 0; var votes = 0 }
    private var tallies: [UInt64: Tally] = [:]
    private let analyzer: TextAnalyzer
    /// Each distinct title token's word number, or `dropped` (a stop word, or not 2-40 bytes).
    private var tokenWord: [String: Int] = [:]
    private static let dropped = -1
    /// Distinct words (folded, unstemmed), numbered.
    private var vocabulary = StringNumbering()
    /// Each distinct brand's phrase key (`noPhrase` when the brand has none).
    private var brandKey: [String: UInt64] = [:]
    private static let noPhrase: UInt64 = 0
    /// Brand phrases of 3-4 words, by number (`longFlag | number` keys them).
    private var longPhrases = StringNumbering()
    private static let longFlag: UInt64 = 1 << 63
    /// Most phrases kept (the most frequent; single words before pairs at equal counts).
    public let maxPhrases: Int

    /// No phrases yet; titles are split into words with `analyzer`'s folding and stop words.
    public init(analyzer: TextAnalyzer, maxPhrases: Int = 200_000) {
      self.analyzer = analyzer
      self.maxPhrases = maxPhrases
    }

    /// Adds the phrases of an item with `title` and `brand` in leaf category `leaf`: its title's
    /// words and adjacent word pairs, and its brand's words as one phrase, each once. Amortised
    /// O(title words).
    public mutating func add(title: String, brand: String, leaf: UInt32) {
      var words: [Int] = []
      for token in Tokenizer.tokens(title) {
        let word = tokenWord[token] ?? learnTitleToken(token)
        if word != Self.dropped { words.append(word) }
      }
      // Each phrase once per item: a title's handful found by comparison, long ones in a set.
      var phrases: [UInt64] = []
      phrases.reserveCapacity(2 * words.count + 1)
      let long = words.count > 32
      var seen: Set<UInt64> = []  // only for a long title
      func note(_ phrase: UInt64) {
        if long ? seen.insert(phrase).inserted : !phrases.contains(phrase) { phrases.append(phrase) }
      }
      for word in words { note(Self.key(word)) }
      for i in words.indices.dropLast() { note(Self.key(words[i], words[i + 1])) }
      let brandPhrase = brandKey[brand] ?? learnBrand(brand)
      if brandPhrase != Self.noPhrase { note(brandPhrase) }
      for phrase in phrases { Self.count(&tallies[phrase, default: Tally()], leaf: leaf) }  // one lookup per phrase
    }

    /// A single word's key: its number + 1 in the high half (never 0, never `longFlag`'s bit).
    private static func key(_ word: Int) -> UInt64 { UInt64(word + 1) << 32 }
    /// A pair's key: the two numbers + 1 (a pair and a single word never share a key).
    private static func key(_ first: Int, _ second: Int) -> UInt64 { UInt64(first + 1) << 32 | UInt64(second + 1) }

    /// The number of `word`, given on first sight.
    private mutating func number(of word: String) -> Int { vocabulary.number(of: word).number }

    /// A title token's word number (`analyzer.words`' folding and stop words, then 2-40 bytes) or
    /// `dropped`, now memoised.
    private mutating func learnTitleToken(_ token: String) -> Int {
      var word = Self.dropped
      if let folded = analyzer.word(token: token), (2...40).contains(folded.utf8.count) { word = number(of: folded) }
      tokenWord[token] = word
      return word
    }

    /// The phrase key of `brand` (its words, when 1-4, as one phrase) or `noPhrase`, now memoised.
    /// One or two words key as a title's word or pair would, so a brand in its item's title counts once.
    private mutating func learnBrand(_ brand: String) -> UInt64 {
      let words = analyzer.words(brand)
      let phrase: UInt64
      switch words.count {
      case 1: phrase = Self.key(number(of: words[0]))
      case 2: phrase = Self.key(number(of: words[0]), number(of: words[1]))
      case 3...4:
        // Brands written apart ("Kiln Street Works", "kiln-street WORKS") may share their words: one phrase.
        let text = words.joined(separator: " ")
        phrase = Self.longFlag | UInt64(longPhrases.number(of: text).number)
      default: phrase = Self.noPhrase
      }
      brandKey[brand] = phrase
      return phrase
    }

    /// The text of a phrase key.
    private func text(_ key: UInt64) -> String {
      if key & Self.longFlag != 0 { return longPhrases.strings[Int(key & ~Self.longFlag)] }
      let first = vocabulary.strings[Int(key >> 32) - 1]
      let second = key & 0xFFFF_FFFF
      return second == 0 ? first : first + " " + vocabulary.strings[Int(second) - 1]
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
      // Pairs seen once are noise; single words stay (they complete what is typed). A brand of
      // 3-4 words counts as a pair here, as its text (with spaces) did.
      var kept: [String: Tally] = [:]
      for (key, tally) in tallies where tally.items >= 2 || key & (Self.longFlag | 0xFFFF_FFFF) == 0 {
        kept[text(key)] = tally
      }
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
