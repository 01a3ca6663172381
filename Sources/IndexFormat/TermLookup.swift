import Algorithms

/// Typo-tolerant and prefix lookups in a sorted term column (a generation's text dictionary),
/// without any structure beyond the sorted order: prefix ranges by binary search, and edit-distance
/// matches by walking the terms in order while sharing the dynamic-programming rows of common
/// prefixes and skipping every term under a prefix that is already too far (the walk a
/// Levenshtein automaton over a trie makes). Distances are optimal string alignment (an adjacent
/// transposition is one edit) over UTF-8 bytes. Immutable; thread-safe. Allocates only its result
/// and per-call rows.
public struct TermLookup: Sendable {
  let column: StringColumn

  /// Lookups in `column` (sorted byte-wise, as a text index's terms are).
  public init(_ column: StringColumn) { self.column = column }

  /// The indices of the terms starting with `prefix`. O(log terms).
  public func prefixRange(_ prefix: String) -> Range<Int> {
    let p = Array(prefix.utf8)
    return lowerBound(p)..<prefixEnd(p)
  }

  /// Terms within `maxEdits` edits of `word`, where the term may also match `word` without up to
  /// `droppableSuffix` of its last bytes (a stemmed dictionary holds `ceram` for `ceramic`): (term
  /// index, distance, cost), at most `limit`, lowest cost first, then distance, then term order.
  /// The cost counts each dropped byte as an edit too, so `goldfish` (one edit from `goldfsh`)
  /// ranks before `gold` (none, after dropping three). O(visited prefixes x word length); prefixes
  /// already more than `maxEdits` away are skipped with their subtree.
  public func within(_ word: String, maxEdits: Int, droppableSuffix: Int = 0, limit: Int = 64,
                     budget: Int = TermLookup.defaultBudget) -> [(term: Int, distance: Int, cost: Int)] {
    let q = Array(word.utf8)
    let m = q.count
    guard m > 0, m <= Self.maxBytes, maxEdits >= 0, column.count > 0 else { return [] }
    let firstAccepted = max(0, m - max(0, droppableSuffix))
    let width = m + 1
    // Row d (the distances after d bytes of the current term) lives at rows[d * width ..< (d + 1) * width].
    var rows = [Int](repeating: 0, count: (Self.maxBytes + 1) * width)
    for j in 0...m { rows[j] = j }
    var prefix: [UInt8] = []
    var found: [(term: Int, distance: Int, cost: Int)] = []
    var term: [UInt8] = []
    var computed = 0
    var i = 0
    rows.withUnsafeMutableBufferPointer { r in
      while i < column.count, computed < budget {
        term.removeAll(keepingCapacity: true)
        column.appendUTF8(i, to: &term)
        guard term.count <= Self.maxBytes else { i += 1; continue }
        var common = 0
        while common < min(prefix.count, term.count), prefix[common] == term[common] { common += 1 }
        prefix.removeLast(prefix.count - common)
        var skippedTo: Int?
        for d in common..<term.count {
          let c = term[d]
          let above = d * width, row = (d + 1) * width
          r[row] = d + 1
          var best = d + 1
          for j in 1...m {
            var v = min(r[above + j] + 1, r[row + j - 1] + 1, r[above + j - 1] + (q[j - 1] == c ? 0 : 1))
            if d >= 1, j >= 2, c == q[j - 2], term[d - 1] == q[j - 1] { v = min(v, r[above - width + j - 2] + 1) }
            r[row + j] = v
            if v < best { best = v }
          }
          computed += 1
          prefix.append(c)
          if best > maxEdits {
            // No term under this prefix can come within reach: jump past all of them.
            skippedTo = prefixEnd(prefix, from: i)
            break
          }
        }
        if let next = skippedTo {
          i = max(next, i + 1)
          continue
        }
        let last = term.count * width
        var distance = Int.max, cost = Int.max
        for j in firstAccepted...m {
          distance = min(distance, r[last + j])
          cost = min(cost, r[last + j] + (m - j))
        }
        if distance <= maxEdits { found.append((i, distance, cost)) }
        i += 1
      }
    }
    found.sort { ($0.cost, $0.distance, $0.term) < ($1.cost, $1.distance, $1.term) }
    return Array(found.prefix(limit))
  }

  /// Longest word or term (UTF-8 bytes) the edit-distance walk compares; longer ones are skipped.
  public static let maxBytes = 48
  /// Most dynamic-programming rows one walk computes (each costs the word's length): a bound on
  /// the work a single query term can cause, whatever the dictionary. A walk that reaches it
  /// returns what it found so far.
  public static let defaultBudget = 60_000

  /// First index whose term is not below `p`.
  private func lowerBound(_ p: [UInt8]) -> Int { partitionPoint { $0.lexicographicallyPrecedes(p) } }

  /// First index past every term starting with `p`: the first whose first `p.count` bytes sort above `p`.
  private func prefixEnd(_ p: [UInt8]) -> Int { partitionPoint { !p.lexicographicallyPrecedes($0.prefix(p.count)) } }

  /// `prefixEnd(p)` for a walk at `start`, whose term starts with `p`: galloping forward (1, 2, 4...
  /// terms), then bisecting the last step, since the terms under a deep prefix are few.
  /// O(log of the terms skipped).
  private func prefixEnd(_ p: [UInt8], from start: Int) -> Int {
    var term: [UInt8] = []
    func under(_ i: Int) -> Bool {
      term.removeAll(keepingCapacity: true)
      column.appendUTF8(i, to: &term)
      return term.starts(with: p)
    }
    var low = start, step = 1
    while low + step < column.count, under(low + step) {
      low += step
      step *= 2
    }
    var high = min(low + step, column.count)
    low += 1
    while low < high {
      let mid = (low + high) / 2
      if under(mid) { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// First index whose term's bytes fail `isBefore` (which holds for a leading run of the sorted
  /// terms). O(log terms).
  private func partitionPoint(_ isBefore: ([UInt8]) -> Bool) -> Int {
    var term: [UInt8] = []
    return (0..<column.count).partitioningIndex { i in
      term.removeAll(keepingCapacity: true)
      column.appendUTF8(i, to: &term)
      return !isBefore(term)
    }
  }
}
