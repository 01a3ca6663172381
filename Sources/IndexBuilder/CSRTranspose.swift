/// The transpose of rows stored CSR-style (`entries[start[r] ..< start[r + 1]]` are row r's column
/// numbers): for each column, the rows that hold it, in ascending row order, and where each entry
/// sits in `entries`. The co-occurrence builders turn user -> items (or visit -> items) into
/// item -> users with it. O(entries + columns); flat arrays, no per-column allocation.
struct CSRTranspose {
  /// `rows[start[c] ..< start[c + 1]]` are the rows holding column `c`.
  let start: [Int]
  let rows: [UInt32]
  /// The index in `entries` of each entry of `rows`.
  let positions: [UInt32]

  init(start rowStart: [Int], entries: [UInt32], columns: Int) {
    var start = [Int](repeating: 0, count: columns + 1)
    for c in entries { start[Int(c) + 1] += 1 }
    for c in 0..<columns { start[c + 1] += start[c] }
    var rows = [UInt32](repeating: 0, count: entries.count)
    var positions = [UInt32](repeating: 0, count: entries.count)
    var fill = start
    for r in 0..<(rowStart.count - 1) {
      for k in rowStart[r]..<rowStart[r + 1] {
        let c = Int(entries[k])
        rows[fill[c]] = UInt32(r)
        positions[fill[c]] = UInt32(k)
        fill[c] += 1
      }
    }
    self.start = start
    self.rows = rows
    self.positions = positions
  }

  /// The index range in `rows` of column `c`.
  @inline(__always) func range(_ c: Int) -> Range<Int> { start[c]..<start[c + 1] }
}
