import IndexFormat
import TextAnalysis

/// Typo tolerance and search-as-you-type for a query's terms against a generation's dictionary.
/// A term the dictionary has is kept (exact). Otherwise the query's last term, as typed, may be
/// the beginning of a word: it becomes the most frequent dictionary term it begins (prefix). Else
/// a term within reach of the typed word becomes the closest, most frequent one (fuzzy): one edit
/// for words of 4 to 7 bytes, two from 8, none below (an adjacent transposition is one edit; the
/// dictionary term may leave out up to 3 trailing bytes of the word, as stems do, each counted as
/// an edit when choosing). So exact
/// matches come before prefixes and prefixes before corrections. At most `maxCorrections` terms
/// of a query are looked up by edit distance, each walk bounded (`TermLookup.defaultBudget`).
/// Pure; O(terms + bounded walks) for terms the dictionary lacks.
public enum QuerySpelling {
  /// How a term was found.
  public enum Match: String, Sendable {
    case exact, prefix, fuzzy
  }

  /// A query term that was replaced.
  public struct Correction: Hashable, Sendable {
    /// What was typed (folded).
    public var typed: String
    /// The dictionary term searched for instead.
    public var term: String
    /// `prefix` or `fuzzy`.
    public var match: Match
  }

  /// The terms to search for and the replacements made.
  public struct Resolved: Sendable {
    /// Terms to search for, in query order (with the terms synonyms add, after the query's own).
    public var terms: [String]
    /// The query's own terms as resolved, one per word in query order (no synonyms).
    public var words: [String] = []
    /// What was typed for each of `words` (folded).
    public var typed: [String] = []
    /// The terms replaced (prefix completions and corrections).
    public var corrections: [Correction]
    /// Nothing resolved (no query).
    public static let none = Resolved(terms: [], corrections: [])
  }

  /// Most prefix completions compared by document frequency.
  static let maxCompletions = 256
  /// Most terms of one query looked up by edit distance (the others stay as typed): each lookup
  /// walks the dictionary, so a query of many unknown words must not cost many walks.
  public static let maxCorrections = 3

  /// Resolves `tokens` (the tokenizer's, as validated) with `analyzer` against `index`, then adds
  /// the terms `synonyms` bring (to the corrected terms, so `sofs` finds what `couch` does). When
  /// no term would match anything (the answer would be empty), it tries once more with the reach
  /// widened (one edit from 3 bytes, two from 5) before answering empty (zero-result rescue).
  /// `alsoKnown` names terms another index has (the live catalog overlay's added items): they are
  /// kept as typed, never corrected into the generation's words.
  public static func resolve(tokens: [String], analyzer: TextAnalyzer, index: TextIndex, synonyms: SynonymMap = .none,
                             alsoKnown: (String) -> Bool = { _ in false }) -> Resolved {
    let known = { (term: String) in index.termID(term) != nil || alsoKnown(term) }
    var resolved = resolve(tokens: tokens, analyzer: analyzer, index: index, known: known, widened: false)
    if !resolved.terms.contains(where: known) {
      resolved = resolve(tokens: tokens, analyzer: analyzer, index: index, known: known, widened: true)
    }
    resolved.words = resolved.terms
    resolved.terms = synonyms.expand(resolved.terms)
    return resolved
  }

  static func resolve(tokens: [String], analyzer: TextAnalyzer, index: TextIndex, known: (String) -> Bool, widened: Bool) -> Resolved {
    let pairs = analyzer.analyzePairs(tokens: tokens)
    let lookup = TermLookup(index.terms)
    var resolved = Resolved(terms: [], corrections: [])
    var walks = 0
    resolved.typed = pairs.map(\.0)
    for (k, (typed, term)) in pairs.enumerated() {
      if known(term) {
        resolved.terms.append(term)
        continue
      }
      if k == pairs.count - 1, typed.utf8.count >= 2, let completion = bestCompletion(typed, term, lookup: lookup, index: index) {
        resolved.terms.append(completion)
        resolved.corrections.append(Correction(typed: typed, term: completion, match: .prefix))
        continue
      }
      let length = typed.utf8.count
      let edits = widened ? (length >= 5 ? 2 : length >= 3 ? 1 : 0) : (length >= 8 ? 2 : length >= 4 ? 1 : 0)
      if edits > 0, walks < maxCorrections {
        walks += 1
        let candidates = lookup.within(typed, maxEdits: edits, droppableSuffix: 3) + lookup.within(term, maxEdits: edits)
        if let best = candidates.min(by: { a, b in
          a.cost != b.cost ? a.cost < b.cost
            : index.documentFrequency(a.term) != index.documentFrequency(b.term)
              ? index.documentFrequency(a.term) > index.documentFrequency(b.term) : a.term < b.term
        }) {
          let corrected = index.terms[best.term]
          resolved.terms.append(corrected)
          resolved.corrections.append(Correction(typed: typed, term: corrected, match: .fuzzy))
          continue
        }
      }
      resolved.terms.append(term)
    }
    return resolved
  }

  /// The most frequent term beginning with what was typed (or its stem), if any.
  static func bestCompletion(_ typed: String, _ stem: String, lookup: TermLookup, index: TextIndex) -> String? {
    var best: (df: Int, term: Int)?
    for prefix in Set([typed, stem]) where !prefix.isEmpty {
      for t in lookup.prefixRange(prefix).prefix(maxCompletions) {
        let df = index.documentFrequency(t)
        if best == nil || df > best!.df { best = (df, t) }
      }
    }
    return best.map { index.terms[$0.term] }
  }
}
