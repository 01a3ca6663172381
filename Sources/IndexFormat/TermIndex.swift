import FunnelCore

/// An in-memory inverted index over item text for BM25 scoring: term -> postings of (doc, term
/// frequency), plus per-document field lengths. Immutable; safe to share across threads.
public struct TermIndex: Sendable {
  /// The postings of one term, sorted by doc id.
  public struct Postings: Sendable {
    public let docs: [DocID]
    /// Term frequency of the term in `docs[i]`.
    public let frequencies: [UInt16]
  }

  /// Postings per term.
  public let postings: [String: Postings]
  /// Number of tokens in each document's text, indexed by doc id.
  public let documentLengths: [UInt16]
  /// Mean of `documentLengths` (1 when empty, so BM25 never divides by zero).
  public let averageLength: Float

  /// Indexes `texts[d]` as document `d`, tokenised with `Tokenizer`. O(total tokens).
  public init(texts: [String]) {
    var building: [String: ([DocID], [UInt16])] = [:]
    var lengths: [UInt16] = []
    lengths.reserveCapacity(texts.count)
    for (d, text) in texts.enumerated() {
      let tokens = Tokenizer.tokens(text)
      lengths.append(UInt16(min(tokens.count, Int(UInt16.max))))
      var counts: [String: UInt16] = [:]
      for t in tokens { counts[t, default: 0] &+= 1 }
      for (term, tf) in counts {
        building[term, default: ([], [])].0.append(DocID(d))
        building[term, default: ([], [])].1.append(tf)
      }
    }
    postings = building.mapValues { Postings(docs: $0.0, frequencies: $0.1) }
    documentLengths = lengths
    let total = lengths.reduce(0) { $0 + Int($1) }
    averageLength = lengths.isEmpty ? 1 : max(1, Float(total) / Float(lengths.count))
  }

  /// Number of indexed documents.
  public var documentCount: Int { documentLengths.count }
}

/// Splits text into lower-cased alphanumeric tokens (Unicode letters and digits; everything else
/// separates). The same function indexes and queries, so both sides agree.
public enum Tokenizer {
  /// The tokens of `text`, in order, lower-cased. O(length).
  public static func tokens(_ text: String) -> [String] {
    var result: [String] = []
    var current = ""
    for scalar in text.unicodeScalars {
      if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
        current.unicodeScalars.append(scalar)
      } else if !current.isEmpty {
        result.append(current.lowercased())
        current = ""
      }
    }
    if !current.isEmpty { result.append(current.lowercased()) }
    return result
  }
}
