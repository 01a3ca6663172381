import Algorithms
import FunnelCore
import IndexFormat
import MappedStorage

/// Exact BM25 top k that decodes only what may hold a winner: document-at-a-time MaxScore (Turtle
/// and Flood, 1995) with block maxima (Ding and Suel, 2011) and a threshold known before the first
/// document is scored.
///
/// - The rare terms (at most `smallTerm` postings, or up to `rareTerm` when they are a sixteenth of
///   the query's postings or less) are decoded whole up front. Each one holding at
///   least k documents bounds the k-th best score from below by its own k-th best contribution (those
///   k documents score at least that much), so the threshold starts high instead of at zero.
/// - Terms are ordered by their maximum contribution. The longest prefix whose maxima together cannot
///   beat the threshold is non-essential: a document is a candidate only if an essential term holds
///   it, and the essential terms' postings are walked in doc order. A non-essential term is looked up
///   (its block found from the block index, decoded, searched) only while the candidate's score plus
///   what the unread terms could add, that block's maximum included, still beats the threshold.
/// - With one essential term, its blocks whose maximum plus every other term's cannot beat the
///   threshold are passed over undecoded.
/// - One term alone is read block by block in descending order of block maximum, until a block's
///   maximum cannot beat the threshold: the fewest blocks any block-max method decodes.
///
/// Returns the exhaustive top k: the same documents, ties by doc id, each score the sum of its terms'
/// contributions (summed in another order, so equal up to float rounding). Thresholds keep a little
/// slack for that rounding (`skipBound`).
///
/// Synchronous; allocates its cursors and the heap once per query. Not thread-safe (a value per query).
enum BlockMaxScore {
  /// Terms with at most this many postings are decoded whole before scoring starts.
  static let smallTerm = 4_096
  /// A term with at most this many postings is decoded whole too when the query's other terms hold
  /// fifteen times as many: its floor may spare most of theirs.
  static let rareTerm = 65_536

  /// The top `k` for `terms`, or nil when the index has no block maxima (format 1). Terms with at
  /// most `wholeUpTo` postings are decoded whole (nil: `smallTerm`, or up to `rareTerm` for a
  /// sixteenth of the query's postings; tests set it to reach every path).
  static func top(terms: [String], index: TextIndex, k: Int, wholeUpTo: Int? = nil) -> [(DocID, Float)]? {
    guard let blocks = index.blocks, k > 0 else { return nil }
    let n = index.documentCount
    // Terms in dictionary order, so a query's scores are summed the same way in every process.
    let ids = Set(terms.compactMap { index.termID($0) }).sorted()
    var cursors = ids.compactMap { id -> Cursor? in
      let b0 = Int(blocks.termBlocks[id]), b1 = Int(blocks.termBlocks[id + 1])
      guard b0 < b1 else { return nil }
      let frequency = index.documentFrequency(id)
      return Cursor(idf: BM25.idf(documents: n, frequency: frequency), maximum: blocks.termMaxScore[id], frequency: frequency,
                    firstBlock: b0, endBlock: b1, end: index.postingRange(id).upperBound)
    }
    switch cursors.count {
    case 0: return []
    case 1: return singleTerm(cursors[0], index: index, blocks: blocks, k: k)
    default: break
    }
    var heap = TopK(capacity: k)
    let context = Context(index: index, blocks: blocks)
    // The floor: no document scoring below the k-th best contribution of one term can be in the top k.
    var floor = -Float.infinity
    let postings = cursors.reduce(0) { $0 + $1.frequency }
    let whole = wholeUpTo ?? max(smallTerm, min(rareTerm, postings / 16))
    for i in cursors.indices where cursors[i].frequency <= whole {
      cursors[i].decodeWhole(context)
      if cursors[i].count >= k { floor = max(floor, cursors[i].kthBest(k)) }
    }
    if floor > -.infinity { floor = floor * (1 - 1e-6) - 1e-7 }
    cursors.sort { $0.maximum < $1.maximum }
    let q = cursors.count
    var below = [Float](repeating: 0, count: q)  // below[j]: maxima of cursors[0...j] summed
    var sum: Float = 0
    for j in 0..<q {
      sum += cursors[j].maximum
      below[j] = sum
    }
    cursors.withUnsafeMutableBufferPointer { c in
      var theta = max(skipBound(heap), floor)
      var essential = 0  // c[essential...] are essential
      while essential < q && below[essential] <= theta { essential += 1 }
      for i in essential..<q { c[i].start(context) }

      while essential < q {
        if essential == q - 1 { c[essential].skipBlocks(whileBelow: theta - (essential > 0 ? below[essential - 1] : 0), context) }
        var doc = UInt32.max
        for i in essential..<q where c[i].doc < doc { doc = c[i].doc }
        guard doc != .max else { break }
        var score: Float = 0
        for i in essential..<q where c[i].doc == doc {
          score += c[i].score(context)
          c[i].next(context)
        }
        var j = essential - 1
        while j >= 0 {
          guard score + below[j] > theta else { break }
          let others = j > 0 ? below[j - 1] : 0
          guard let contribution = c[j].contribution(at: doc, unlessBelow: theta - score - others, context) else { break }
          score += contribution
          j -= 1
        }
        guard j < 0, score > theta else { continue }  // below the floor: cannot be in the top k
        heap.offer(DocID(rawValue: doc), score)
        let raised = max(skipBound(heap), floor)
        if raised > theta {
          theta = raised
          // A term leaving the essential set is only looked up from now on, at or after `doc`.
          while essential < q && below[essential] <= theta { essential += 1 }
        }
      }
    }
    return heap.sortedDescending()
  }

  /// What every cursor reads: the index, its block maxima and document lengths. A class: the index
  /// and its views hold a dozen references, which a struct would retain and release on every call.
  final class Context {
    let index: TextIndex
    let blocks: TextIndex.BlockIndex
    let lengths: ScalarView<UInt16>
    let average: Float

    init(index: TextIndex, blocks: TextIndex.BlockIndex) {
      self.index = index
      self.blocks = blocks
      lengths = index.documentLengths
      average = index.averageLength
    }
  }

  /// One term's postings, decoded a block at a time (or whole, for a rare term), with a position in them.
  /// A struct walked in place through a buffer of cursors: a class's stored properties would be
  /// checked for exclusive access at run time on every read and write.
  struct Cursor {
    let idf: Float
    /// The term's highest contribution.
    let maximum: Float
    /// Documents holding the term.
    let frequency: Int
    let firstBlock: Int
    let endBlock: Int
    /// End of the term's postings bytes.
    let end: Int
    /// Decoded postings: the current block's, or every one when `whole`.
    var docs: [UInt32] = []
    var tfs: [UInt32] = []
    /// Each posting's contribution, for a term decoded whole (its `tfs` are not kept).
    var scores: [Float] = []
    var count = 0
    var whole = false
    /// The decoded block (-1: none yet) and the position in `docs`.
    var block = -1
    var position = 0
    /// The current doc (`UInt32.max` once past the end).
    var doc: UInt32 = 0

    init(idf: Float, maximum: Float, frequency: Int, firstBlock: Int, endBlock: Int, end: Int) {
      self.idf = idf
      self.maximum = maximum
      self.frequency = frequency
      self.firstBlock = firstBlock
      self.endBlock = endBlock
      self.end = end
    }

    /// Block `b`'s bytes and the doc its first delta counts from.
    @inline(__always) func bytes(_ b: Int, _ blocks: TextIndex.BlockIndex) -> (Range<Int>, UInt32) {
      (Int(blocks.byteStart[b])..<(b + 1 < endBlock ? Int(blocks.byteStart[b + 1]) : end),
       b > firstBlock ? blocks.lastDoc[b - 1] : 0)
    }

    /// Decodes every posting (a rare term's) and scores it, so that lookups are searches in memory.
    mutating func decodeWhole(_ context: Context) {
      let capacity = frequency  // a list longer than its frequency is corrupt: its tail is dropped
      docs = Array(repeating: 0, count: capacity)
      scores = Array(repeating: 0, count: capacity)
      var filled = 0
      let (idf, lengths, average) = (self.idf, context.lengths, context.average)
      docs.withUnsafeMutableBufferPointer { docs in
        scores.withUnsafeMutableBufferPointer { scores in
          _ = context.index.forEachPosting(inBytes: Int(context.blocks.byteStart[firstBlock])..<end, after: 0) { doc, tf in
            guard filled < capacity else { return }
            docs[filled] = doc.rawValue
            scores[filled] = BM25.score(idf: idf, frequency: tf, length: lengths[doc.index], average: average)
            filled += 1
          }
        }
      }
      count = filled
      whole = true
      position = 0
      doc = count > 0 ? docs[0] : .max
    }

    /// The k-th highest contribution among the decoded postings (precondition: `0 < k <= count`).
    /// O(count) on average (quickselect).
    func kthBest(_ k: Int) -> Float {
      var values = Array(scores[0..<count])
      return values.withUnsafeMutableBufferPointer { v in
        // Hoare quickselect for the element of rank count - k in ascending order.
        let target = count - k
        var low = 0, high = count - 1
        while low < high {
          let pivot = v[(low + high) / 2]
          var i = low, j = high
          while i <= j {
            while v[i] < pivot { i += 1 }
            while v[j] > pivot { j -= 1 }
            if i <= j {
              v.swapAt(i, j)
              i += 1
              j -= 1
            }
          }
          if target <= j { high = j } else if target >= i { low = i } else { break }
        }
        return v[target]
      }
    }

    /// Positions the cursor at its first posting at or after the current doc, ready to be walked.
    mutating func start(_ context: Context) {
      if whole || block >= 0 { return }
      load(firstBlock, context)
    }

    /// Decodes block `b` into `docs` and positions at its first posting (past blocks that decode to
    /// nothing, which only a corrupt file has).
    @inline(__always) mutating func load(_ first: Int, _ context: Context) {
      if docs.count < TextIndex.blockSize {
        docs = Array(repeating: 0, count: TextIndex.blockSize)
        tfs = Array(repeating: 0, count: TextIndex.blockSize)
      }
      var b = first
      while b < endBlock {
        var filled = 0
        let (bytes, base) = self.bytes(b, context.blocks)
        docs.withUnsafeMutableBufferPointer { docs in
          tfs.withUnsafeMutableBufferPointer { tfs in
            _ = context.index.forEachPosting(inBytes: bytes, after: base) { doc, tf in
              guard filled < TextIndex.blockSize else { return }  // a longer block is corrupt: its tail is dropped
              docs[filled] = doc.rawValue
              tfs[filled] = tf
              filled += 1
            }
          }
        }
        if filled > 0 {
          (block, position, count, doc) = (b, 0, filled, docs[0])
          return
        }
        b += 1
      }
      (block, position, count, doc) = (endBlock, 0, 0, .max)
    }

    /// The current posting's contribution.
    @inline(__always) func score(_ context: Context) -> Float {
      if whole { return scores[position] }
      return BM25.score(idf: idf, frequency: tfs[position], length: context.lengths[Int(doc)], average: context.average)
    }

    /// Moves to the next posting.
    @inline(__always) mutating func next(_ context: Context) {
      position += 1
      if position < count {
        doc = docs[position]
      } else if whole {
        doc = .max
      } else {
        load(block + 1, context)
      }
    }

    /// Passes over whole blocks whose maximum is at most `limit` without decoding them (the only
    /// essential term: no document of such a block can beat the threshold).
    mutating func skipBlocks(whileBelow limit: Float, _ context: Context) {
      guard !whole, doc != .max, context.blocks.maxScore[block] <= limit else { return }
      var b = block + 1
      while b < endBlock && context.blocks.maxScore[b] <= limit { b += 1 }
      load(b, context)
    }

    /// This term's contribution to `doc` (0 when it does not hold it), or nil when even the block
    /// that would hold `doc` has a maximum at most `limit`. Moves forward only: `doc` never decreases.
    @inline(__always) mutating func contribution(at target: UInt32, unlessBelow limit: Float, _ context: Context) -> Float? {
      guard doc != .max else { return 0 }
      if whole {
        guard doc < target else { return doc == target ? score(context) : 0 }
        position = firstAtOrAfter(target, from: position + 1)
        doc = position < count ? docs[position] : .max
        return doc == target ? score(context) : 0
      }
      let blocks = context.blocks
      if block < 0 || target > blocks.lastDoc[block] {
        // The block that would hold the target, searched forward from the current one.
        let low = blocks.lastDoc[max(block, firstBlock)..<endBlock].partitioningIndex { $0 >= target }
        guard low < endBlock else {
          block = endBlock
          doc = .max
          return 0
        }
        guard blocks.maxScore[low] > limit else { return nil }
        load(low, context)
      } else if blocks.maxScore[block] <= limit {
        return nil
      }
      if doc < target {
        position = firstAtOrAfter(target, from: position + 1)
        doc = position < count ? docs[position] : .max
      }
      return doc == target ? score(context) : 0
    }

    /// The first position from `from` whose doc is at or after `target` (`count` if none): a gallop
    /// (lookups move forward a little at a time), then a binary search in the last step.
    @inline(__always) func firstAtOrAfter(_ target: UInt32, from: Int) -> Int {
      var low = from, step = 1
      while low + step < count && docs[low + step] < target {
        low += step
        step <<= 1
      }
      return docs[low..<min(low + step + 1, count)].partitioningIndex { $0 >= target }
    }
  }

  /// One term: its blocks by descending maximum, each decoded and scored in one tight loop, until a
  /// block's maximum cannot beat the k-th best so far.
  static func singleTerm(_ c: Cursor, index: TextIndex, blocks: TextIndex.BlockIndex, k: Int) -> [(DocID, Float)] {
    var heap = TopK(capacity: k)
    let average = index.averageLength
    let maxima = (c.firstBlock..<c.endBlock).map { blocks.maxScore[$0] }
    index.documentLengths.withUnsafeBufferPointer { lengths in
      for (offset, maximum) in ScoreOrder.descendingIndices(maxima, doc: { UInt32(truncatingIfNeeded: $0) }) {
        guard maximum > skipBound(heap) else { break }
        let (bytes, base) = c.bytes(c.firstBlock + offset, blocks)
        index.forEachPosting(inBytes: bytes, after: base) { doc, tf in
          heap.offer(doc, BM25.score(idf: c.idf, frequency: tf, length: lengths[doc.index], average: average))
        }
      }
    }
    return heap.sortedDescending()
  }

  /// Scores at or below this cannot enter `heap` (-inf until it is full). A bound equal to the k-th
  /// may still win on doc id: only what is strictly below counts, with slack for float rounding of
  /// summed bounds.
  @inline(__always) static func skipBound(_ heap: TopK) -> Float {
    heap.isFull ? heap.minimumScore * (1 - 1e-6) - 1e-7 : -.infinity
  }
}
