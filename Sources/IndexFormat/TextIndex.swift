import FunnelCore
import MappedStorage
import TextAnalysis

/// The `text` file of a generation: a sorted term dictionary, varint-compressed postings of
/// (doc delta, term frequency) per term, document frequencies, and per-document field lengths
/// for BM25. Format 2 adds, per block of 128 postings, the last doc id, the byte offset and the
/// block's maximum BM25 score (and each term's maximum), for block-max pruning.
///
/// Immutable; safe to share across threads. Decoding is defensive: a corrupt posting list ends early
/// instead of reading out of bounds or producing doc ids past the item count.
public struct TextIndex: Sendable {
  static let kind = "TEXT"
  static let version: UInt32 = 2
  /// Postings per block of the block-max index.
  public static let blockSize = 128

  /// Sorted terms.
  public let terms: StringColumn
  private let postingOffsets: ScalarView<UInt64>
  @usableFromInline let postings: ScalarView<UInt8>
  private let documentFrequencies: ScalarView<UInt32>
  /// Tokens per document, indexed by doc id.
  public let documentLengths: ScalarView<UInt16>
  /// Mean document length (>= 1).
  public let averageLength: Float
  /// Block-max metadata (format 2; nil when reading format 1 files, which are scored exhaustively).
  public let blocks: BlockIndex?

  /// Per-block skip and score-bound data.
  public struct BlockIndex: Sendable {
    /// `termBlocks[t] ..< termBlocks[t + 1]` are term `t`'s blocks.
    public let termBlocks: ScalarView<UInt32>
    /// Last doc id in each block.
    public let lastDoc: ScalarView<UInt32>
    /// Byte offset in the postings of each block's first posting.
    public let byteStart: ScalarView<UInt64>
    /// Highest BM25 score (k1 = 1.2, b = 0.75) of any posting in the block.
    public let maxScore: ScalarView<Float>
    /// Highest BM25 score of each term.
    public let termMaxScore: ScalarView<Float>
  }

  /// Serialises the text of every document (`texts[d]` is document `d`), analysed with `analyzer`.
  /// Returns the file and the number of distinct terms.
  public static func write(texts: [String], analyzer: TextAnalyzer = .plain) -> (bytes: [UInt8], terms: Int) {
    var writer = Writer(analyzer: analyzer)
    for text in texts { writer.add(text) }
    let (file, terms) = writer.finish()
    return (file.bytes, terms)
  }

  /// Accumulates postings document by document (doc id = order of `add`): a term number per
  /// distinct term and one (doc, tf) list per term, 8 bytes a posting. Not thread-safe.
  public struct Writer: Sendable {
    private var terms = StringNumbering()
    /// Each distinct token's term number, or `stopWord`: the analysis (folding, stop words,
    /// stemming) runs once per distinct token, not once per occurrence.
    private var tokenTerm: [String: Int] = [:]
    private static let stopWord = -1
    private var postingsByTerm: [[(UInt32, UInt32)]] = []
    private var lengths: [UInt16] = []
    private let analyzer: TextAnalyzer
    /// No documents yet; texts will be analysed with `analyzer`.
    public init(analyzer: TextAnalyzer = .plain) { self.analyzer = analyzer }

    /// Adds the next document's text. O(length).
    public mutating func add(_ text: String) { add(fields: [(text, 1)]) }

    /// Adds the next document as weighted fields (`SearchFields`): a term's frequency is the sum
    /// of its occurrences times its field's weight, the length the weighted sum of the fields'.
    /// O(length).
    public mutating func add(fields: [(text: String, weight: UInt32)]) {
      let d = UInt32(lengths.count)
      // The document's tokens as (term number, weight), summed per term after sorting: one lookup
      // per token in the token memo (analysis and the term's number only at a token's first sight),
      // and no dictionary per document.
      var occurrences: [(term: Int, weight: UInt32)] = []
      var length = 0
      for (text, weight) in fields where weight > 0 {
        // As `analyzer.terms(text)`, by way of the token memo.
        let tokens = Tokenizer.tokens(text)
        var kept = 0
        for token in tokens {
          let term = tokenTerm[token] ?? learn(token)
          guard term != Self.stopWord else { continue }
          occurrences.append((term, weight))
          kept += 1
        }
        if kept == 0, !tokens.isEmpty {
          // A text of stop words only keeps them (the analyzer's rule); rare, so not memoised.
          let terms = analyzer.analyze(tokens: tokens)
          for t in terms { occurrences.append((number(of: t), weight)) }
          kept = terms.count
        }
        length += kept * Int(weight)
      }
      lengths.append(UInt16(min(length, Int(UInt16.max))))
      occurrences.sort { $0.term < $1.term }
      var i = 0
      while i < occurrences.count {
        let term = occurrences[i].term
        var tf: UInt32 = 0
        while i < occurrences.count && occurrences[i].term == term {
          tf += occurrences[i].weight
          i += 1
        }
        postingsByTerm[term].append((d, tf))
      }
    }

    /// The term number of `token` (given on first sight), or `stopWord`, now memoised.
    private mutating func learn(_ token: String) -> Int {
      let term = analyzer.term(token: token).map { number(of: $0) } ?? Self.stopWord
      tokenTerm[token] = term
      return term
    }

    /// The number of `term`, given on first sight.
    private mutating func number(of term: String) -> Int {
      let (n, isNew) = terms.number(of: term)
      if isNew { postingsByTerm.append([]) }
      return n
    }

    /// The finished file and the number of distinct terms. O(postings + terms log terms).
    public func finish() -> (file: PendingFile, terms: Int) {
      let total = lengths.reduce(0) { $0 + Int($1) }
      let average: Float = lengths.isEmpty ? 1.0 : max(1, Float(total) / Float(lengths.count))
      let sortedTerms = StringColumn.utf8Sorted(terms.strings)
      var offsets: [UInt64] = [0]
      var bytes: [UInt8] = []
      var frequencies: [UInt32] = []
      var termBlocks: [UInt32] = [0], lastDocs: [UInt32] = [], byteStarts: [UInt64] = [], blockMax: [Float] = []
      var termMax: [Float] = []
      for term in sortedTerms {
        var previous: UInt32 = 0
        let list = postingsByTerm[terms.find(term)!]
        let idf = BM25.idf(documents: lengths.count, frequency: list.count)
        var best: Float = 0
        for (i, (doc, tf)) in list.enumerated() {
          if i % blockSize == 0 {
            byteStarts.append(UInt64(bytes.count))
            blockMax.append(0)
            lastDocs.append(0)
          }
          let score = BM25.score(idf: idf, frequency: tf, length: lengths[Int(doc)], average: average)
          blockMax[blockMax.count - 1] = max(blockMax[blockMax.count - 1], score)
          lastDocs[lastDocs.count - 1] = doc
          best = max(best, score)
          Varint.append(doc - previous, to: &bytes)
          Varint.append(tf, to: &bytes)
          previous = doc
        }
        offsets.append(UInt64(bytes.count))
        frequencies.append(UInt32(list.count))
        termBlocks.append(UInt32(lastDocs.count))
        termMax.append(best)
      }
      var w = SectionedFileWriter()
      StringColumn.write(sortedTerms, into: &w)
      w.add(offsets)
      w.add(bytes: bytes)
      w.add(frequencies)
      w.add(lengths)
      w.add([average])
      w.add(termBlocks)
      w.add(lastDocs)
      w.add(byteStarts)
      w.add(blockMax)
      w.add(termMax)
      return (w.file(kind: kind, formatVersion: version), sortedTerms.count)
    }
  }

  /// Opens a text file for `documentCount` documents.
  public init(_ region: ByteRegion, documentCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: 1...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 7)
    terms = try StringColumn(f, first: 0, sorted: true)
    postingOffsets = try f.scalars(2, as: UInt64.self, expected: terms.count + 1)
    postings = try f.scalars(3, as: UInt8.self)
    documentFrequencies = try f.scalars(4, as: UInt32.self, expected: terms.count)
    documentLengths = try f.scalars(5, as: UInt16.self, expected: documentCount)
    let average = try f.scalars(6, as: Float.self, expected: 1)[0]
    guard average.isFinite, average >= 1 else { throw f.corrupt("average length \(average) is not a length") }
    averageLength = average
    guard postingOffsets[0] == 0, zip(postingOffsets, postingOffsets.dropFirst()).allSatisfy({ $0 <= $1 }),
          postingOffsets[terms.count] <= UInt64(postings.count) else {
      throw f.corrupt("posting offsets are out of order or outside the postings")
    }
    guard f.sectionCount >= 12 else {
      blocks = nil
      return
    }
    let termBlocks = try f.scalars(7, as: UInt32.self, expected: terms.count + 1)
    let blockCount = Int(termBlocks[terms.count])
    let index = BlockIndex(termBlocks: termBlocks, lastDoc: try f.scalars(8, as: UInt32.self, expected: blockCount),
                           byteStart: try f.scalars(9, as: UInt64.self, expected: blockCount),
                           maxScore: try f.scalars(10, as: Float.self, expected: blockCount),
                           termMaxScore: try f.scalars(11, as: Float.self, expected: terms.count))
    guard termBlocks[0] == 0, zip(termBlocks, termBlocks.dropFirst()).allSatisfy({ $0 <= $1 }) else {
      throw f.corrupt("block offsets are out of order")
    }
    for t in 0..<terms.count {
      let range = Int(termBlocks[t])..<Int(termBlocks[t + 1])
      for b in range {
        let start = index.byteStart[b]
        guard start >= postingOffsets[t], start < postingOffsets[t + 1], index.lastDoc[b] < UInt32(documentCount),
              b == range.lowerBound || (start > index.byteStart[b - 1] && index.lastDoc[b] > index.lastDoc[b - 1]) else {
          throw f.corrupt("block \(b) of term \(t) is outside its postings or out of order")
        }
      }
    }
    blocks = index
  }

  /// Raw postings bytes (for cursors).
  public var postingBytes: ScalarView<UInt8> { postings }

  /// Byte range of term `id`'s postings.
  public func postingRange(_ id: Int) -> Range<Int> { Int(postingOffsets[id])..<Int(postingOffsets[id + 1]) }

  /// Number of documents.
  public var documentCount: Int { documentLengths.count }

  /// The term's number in the dictionary, or nil.
  public func termID(_ term: String) -> Int? { terms.find(term) }

  /// Documents containing term `id`.
  public func documentFrequency(_ id: Int) -> Int { Int(documentFrequencies[id]) }

  /// Calls `body(doc, tf)` for every posting of term `id`, in doc order. O(postings), no allocation.
  @inline(__always)
  public func forEachPosting(_ id: Int, _ body: (DocID, UInt32) -> Void) {
    forEachPosting(inBytes: Int(postingOffsets[id])..<Int(postingOffsets[id + 1]), after: 0, body)
  }

  /// Calls `body(doc, tf)` for the postings in `bytes` of the postings (a term's, or one block of it:
  /// `BlockIndex.byteStart`), the first doc delta counted from `base` (0 at a term's start, the
  /// previous block's last doc at a block's). Returns false when it stopped at corrupt data (a bad
  /// varint, a doc past the end). Inlinable: the decode runs in the caller's loop. O(postings).
  @inlinable @inline(__always) @discardableResult
  public func forEachPosting(inBytes range: Range<Int>, after base: UInt32, _ body: (DocID, UInt32) -> Void) -> Bool {
    let limit = UInt32(documentLengths.count)
    return postings.withUnsafeBufferPointer { bytes in
      var position = range.lowerBound
      var doc = base
      while position < range.upperBound {
        guard let delta = Varint.read(bytes, &position, end: range.upperBound),
              let tf = Varint.read(bytes, &position, end: range.upperBound) else { return false }
        let (next, overflow) = doc.addingReportingOverflow(delta)
        guard !overflow, next < limit else { return false }
        doc = next
        body(DocID(rawValue: doc), tf)
      }
      return true
    }
  }
}

/// LEB128 unsigned varints (7 bits per byte, low first).
public enum Varint {
  /// Appends `value`.
  public static func append(_ value: UInt32, to bytes: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  /// Reads one varint at `position` (advancing it); nil if it runs past `end` or over 32 bits.
  @inlinable @inline(__always)
  public static func read(_ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int, end: Int) -> UInt32? {
    var result: UInt32 = 0
    var shift: UInt32 = 0
    while position < end {
      let b = bytes[position]
      position += 1
      result |= UInt32(b & 0x7F) << shift
      if b < 0x80 { return result }
      shift += 7
      if shift > 28 { return nil }
    }
    return nil
  }
}
