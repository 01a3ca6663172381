import FunnelCore
import IndexFormat

/// Exact BM25 top-k with block-max WAND (Ding and Suel, 2011): document-at-a-time over the query
/// terms' postings, skipping every document whose score bound (sum of the terms' maxima, then of
/// their current blocks' maxima) cannot beat the k-th best so far. Returns the same top k as
/// exhaustive scoring; decodes only the blocks that may hold a winner.
///
/// Synchronous; allocates its cursors and the heap once per query. Not thread-safe (one per query).
enum BlockMaxWAND {
  /// A cursor over one term's postings.
  struct Cursor {
    let idf: Float
    let termMax: Float
    let firstBlock: Int
    let endBlock: Int
    let end: Int
    /// Current doc (`UInt32.max` when exhausted) and its term frequency.
    var doc: UInt32 = 0
    var tf: UInt32 = 0
    var position: Int
    /// Block holding `doc`.
    var block: Int
    /// The doc before the current position (delta base).
    var base: UInt32 = 0
    /// Block used for shallow (no decoding) bound checks.
    var shallow: Int
  }

  static func top(terms: [String], index: TextIndex, k: Int) -> [(DocID, Float)]? {
    guard let blocks = index.blocks, k > 0 else { return nil }
    let n = index.documentCount
    var cursors: [Cursor] = []
    for term in Set(terms) {
      guard let id = index.termID(term) else { continue }
      let range = index.postingRange(id)
      let b0 = Int(blocks.termBlocks[id]), b1 = Int(blocks.termBlocks[id + 1])
      guard b0 < b1 else { continue }
      var c = Cursor(idf: BM25.idf(documents: n, frequency: index.documentFrequency(id)), termMax: blocks.termMaxScore[id],
                     firstBlock: b0, endBlock: b1, end: range.upperBound, position: range.lowerBound, block: b0, shallow: b0)
      next(&c, index, blocks)
      cursors.append(c)
    }
    guard !cursors.isEmpty else { return [] }
    if cursors.count == 1 { return singleTerm(cursors[0], index: index, blocks: blocks, k: k) }
    var heap = TopK(capacity: k)
    let lengths = index.documentLengths, average = index.averageLength
    func threshold() -> Float { skipBound(heap) }

    while true {
      cursors.sort { $0.doc < $1.doc }
      guard cursors[0].doc != .max else { break }
      // Pivot: the first cursor at which the sum of term maxima could beat the threshold.
      let theta = threshold()
      var bound: Float = 0
      var pivot = -1
      for i in cursors.indices where cursors[i].doc != .max {
        bound += cursors[i].termMax
        if bound > theta {
          pivot = i
          break
        }
      }
      guard pivot >= 0 else { break }
      let pivotDoc = cursors[pivot].doc
      // Block-max check on the blocks that would hold pivotDoc.
      var blockBound: Float = 0
      var nextCandidate = UInt32.max
      for i in 0...pivot {
        shallowAdvance(&cursors[i], to: pivotDoc, blocks)
        blockBound += blocks.maxScore[cursors[i].shallow]
        nextCandidate = min(nextCandidate, blocks.lastDoc[cursors[i].shallow] &+ 1)
      }
      if blockBound <= theta {
        if pivot + 1 < cursors.count { nextCandidate = min(nextCandidate, cursors[pivot + 1].doc) }
        let target = max(nextCandidate, pivotDoc &+ 1)
        for i in 0...pivot where cursors[i].doc < target { advance(&cursors[i], to: target, index, blocks) }
        continue
      }
      if cursors[0].doc == pivotDoc {
        var score: Float = 0
        for i in cursors.indices where cursors[i].doc == pivotDoc {
          score += BM25.score(idf: cursors[i].idf, frequency: cursors[i].tf, length: lengths[Int(pivotDoc)], average: average)
          next(&cursors[i], index, blocks)
        }
        heap.offer(DocID(rawValue: pivotDoc), score)
      } else {
        for i in 0..<pivot where cursors[i].doc < pivotDoc { advance(&cursors[i], to: pivotDoc, index, blocks) }
      }
    }
    return heap.sortedDescending()
  }

  /// One term: WAND has no pivot to choose, only blocks to skip. Each block whose maximum cannot beat
  /// the k-th best so far is passed over undecoded; the others are decoded and scored in one tight
  /// loop, as the exhaustive path scores a whole list, instead of posting by posting through the
  /// cursor machinery.
  static func singleTerm(_ c: Cursor, index: TextIndex, blocks: TextIndex.BlockIndex, k: Int) -> [(DocID, Float)] {
    var heap = TopK(capacity: k)
    let average = index.averageLength
    index.documentLengths.withUnsafeBufferPointer { lengths in
      for b in c.firstBlock..<c.endBlock {
        if blocks.maxScore[b] <= skipBound(heap) { continue }
        let bytes = Int(blocks.byteStart[b])..<(b + 1 < c.endBlock ? Int(blocks.byteStart[b + 1]) : c.end)
        let complete = index.forEachPosting(inBytes: bytes, after: b > c.firstBlock ? blocks.lastDoc[b - 1] : 0) { doc, tf in
          heap.offer(doc, BM25.score(idf: c.idf, frequency: tf, length: lengths[doc.index], average: average))
        }
        guard complete else { break }  // corrupt postings end the list, as in `next`
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

  /// Decodes the next posting (or marks the cursor exhausted).
  @inline(__always) static func next(_ c: inout Cursor, _ index: TextIndex, _ blocks: TextIndex.BlockIndex) {
    guard c.position < c.end else {
      c.doc = .max
      return
    }
    let decoded: (UInt32, UInt32)? = index.postingBytes.withUnsafeBufferPointer { bytes in
      guard let delta = Varint.read(bytes, &c.position, end: c.end), let tf = Varint.read(bytes, &c.position, end: c.end) else {
        return nil
      }
      return (delta, tf)
    }
    guard let (delta, tf) = decoded, case let (doc, false) = c.base.addingReportingOverflow(delta),
          doc < UInt32(index.documentCount) else {
      c.doc = .max  // corrupt postings end the list
      return
    }
    c.doc = doc
    c.tf = tf
    c.base = doc
    while c.block + 1 < c.endBlock && doc > blocks.lastDoc[c.block] { c.block += 1 }
  }

  /// Moves to the first posting with doc >= target, jumping whole blocks without decoding them.
  static func advance(_ c: inout Cursor, to target: UInt32, _ index: TextIndex, _ blocks: TextIndex.BlockIndex) {
    guard c.doc < target else { return }
    var b = c.block
    while b < c.endBlock && blocks.lastDoc[b] < target { b += 1 }
    guard b < c.endBlock else {
      c.doc = .max
      return
    }
    if b != c.block {
      c.block = b
      c.position = Int(blocks.byteStart[b])
      c.base = b > c.firstBlock ? blocks.lastDoc[b - 1] : 0
      c.doc = 0
    }
    while c.doc < target && c.doc != .max { next(&c, index, blocks) }
  }

  /// Moves the bound-checking block pointer to the block that would hold `target` (no decoding).
  @inline(__always) static func shallowAdvance(_ c: inout Cursor, to target: UInt32, _ blocks: TextIndex.BlockIndex) {
    if c.shallow < c.block { c.shallow = c.block }
    while c.shallow + 1 < c.endBlock && blocks.lastDoc[c.shallow] < target { c.shallow += 1 }
  }
}
