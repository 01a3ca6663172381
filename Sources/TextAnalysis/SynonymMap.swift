/// Search synonyms of a generation, in Solr's file format, analysed with the generation's chain:
///
///     # comments and blank lines are ignored
///     sofa, couch, settee          equivalent: a query with any of them also searches the others
///     tee shirt, t-shirt           multi-word phrases work on both sides
///     jumper => sweater, pullover  one-way: a query with `jumper` also searches the right side
///
/// Expansion adds terms (the query's own stay): a query term sequence equal to a left side (the
/// longest first) brings in the terms of its expansions. Built with the generation from
/// `funnel index build --synonyms FILE` and stored in it, so a new file arrives with the next
/// generation on every replica. Immutable; thread-safe. O(query terms x longest phrase) per query.
public struct SynonymMap: Sendable {
  /// The file name inside a generation.
  public static let fileName = "synonyms.txt"
  /// Most rules and most words on one side: a synonyms file is curated, not generated.
  public static let maxRules = 100_000
  public static let maxPhraseWords = 8

  /// Analysed left side -> analysed terms to add.
  let rules: [[String]: [String]]
  let longest: Int

  /// No synonyms.
  public static let none = SynonymMap(rules: [:])

  init(rules: [[String]: [String]]) {
    self.rules = rules
    longest = rules.keys.map(\.count).max() ?? 0
  }

  /// Rules read.
  public var count: Int { rules.count }

  /// Parses `text` (see the type), analysing every phrase with `analyzer`. Throws
  /// `TextAnalysisError` naming the line of a malformed rule.
  public init(parsing text: String, analyzer: TextAnalyzer) throws {
    var rules: [[String]: [String]] = [:]
    func phrases(_ side: Substring, line: Int) throws -> [[String]] {
      let out = side.split(separator: ",").map { analyzer.terms(String($0)) }.filter { !$0.isEmpty }
      guard !out.isEmpty else { throw TextAnalysisError("synonyms line \(line): a side without words") }
      if out.contains(where: { $0.count > Self.maxPhraseWords }) {
        throw TextAnalysisError("synonyms line \(line): a phrase of more than \(Self.maxPhraseWords) words")
      }
      return out
    }
    func add(_ from: [String], _ to: [[String]]) {
      var terms = rules[from] ?? []
      for phrase in to where phrase != from {
        for t in phrase where !terms.contains(t) && !from.contains(t) { terms.append(t) }
      }
      if !terms.isEmpty { rules[from] = terms }
    }
    for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      guard !line.allSatisfy(\.isWhitespace) else { continue }
      let sides = line.components(separatedBy: "=>")
      switch sides.count {
      case 1:
        let group = try phrases(Substring(sides[0]), line: n + 1)
        guard group.count > 1 else { throw TextAnalysisError("synonyms line \(n + 1): an equivalence needs two phrases or more") }
        for phrase in group { add(phrase, group) }
      case 2:
        let to = try phrases(Substring(sides[1]), line: n + 1)
        for from in try phrases(Substring(sides[0]), line: n + 1) { add(from, to) }
      default:
        throw TextAnalysisError("synonyms line \(n + 1): more than one '=>'")
      }
      guard rules.count <= Self.maxRules else { throw TextAnalysisError("synonyms: more than \(Self.maxRules) rules") }
    }
    self.init(rules: rules)
  }

  /// One group of alternatives per query term, for matching every word of a query: the term and
  /// what the rules starting or spanning at its position add (a multi-word left side gives its
  /// expansions to each of its words). `expand` flattened is the union of the groups.
  /// O(query terms x longest phrase).
  public func groups(_ terms: [String]) -> [[String]] {
    var groups = terms.map { [$0] }
    guard longest > 0 else { return groups }
    var i = 0
    while i < terms.count {
      var matched = 0
      for length in stride(from: min(longest, terms.count - i), through: 1, by: -1) {
        guard let added = rules[Array(terms[i..<(i + length)])] else { continue }
        for position in i..<(i + length) {
          for t in added where !groups[position].contains(t) { groups[position].append(t) }
        }
        matched = length
        break
      }
      i += max(1, matched)
    }
    return groups
  }

  /// `terms` with the terms of every matching rule appended (each once; the query's own first).
  public func expand(_ terms: [String]) -> [String] {
    guard longest > 0, !terms.isEmpty else { return terms }
    var out = terms
    var seen = Set(terms)
    var i = 0
    while i < terms.count {
      var matched = 0
      for length in stride(from: min(longest, terms.count - i), through: 1, by: -1) {
        guard let added = rules[Array(terms[i..<(i + length)])] else { continue }
        for t in added where seen.insert(t).inserted { out.append(t) }
        matched = length
        break
      }
      i += max(1, matched)
    }
    return out
  }
}
