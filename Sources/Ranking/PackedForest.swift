#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The scoring layout of a `TreeEnsemble`: compact nodes whose leaves are encoded in the child
/// index (`child < 0` means leaf `~child`), flags packed into the feature word, and traversal in
/// blocks of rows, tree by tree, so one tree's nodes stay in cache while a block of candidates
/// walks it. The split semantics are chosen once per model, outside the loops.
///
/// Immutable; thread-safe; `score` allocates nothing but its block accumulator on the stack.
struct PackedForest: Sendable {
  /// feature (low 28 bits) | categorical (bit 28) | missing type (bits 29-30) | default left (bit 31).
  struct Node: Sendable {
    var word: UInt32
    var left: Int32
    var right: Int32
    var threshold: Float
    var thresholdDouble: Double
  }

  static let featureMask: UInt32 = 0x0FFF_FFFF
  static let categoricalBit: UInt32 = 1 << 28
  static let defaultLeftBit: UInt32 = 1 << 31
  /// Rows walked together through one tree.
  static let lanes = 8

  let nodes: [Node]
  let leaves: [Double]
  /// Root of each tree: a node index, or a leaf (negative) for single-leaf trees.
  let roots: [Int32]

  init(nodes source: [TreeEnsemble.Node], roots sourceRoots: [Int32]) {
    var nodes: [Node] = []
    var leaves: [Double] = []
    var index = [Int32](repeating: 0, count: source.count)
    for (i, n) in source.enumerated() {
      if n.feature < 0 {
        index[i] = ~Int32(leaves.count)
        leaves.append(n.value)
      } else {
        index[i] = Int32(nodes.count)
        var word = UInt32(n.feature) & Self.featureMask
        if n.categorical { word |= Self.categoricalBit }
        word |= UInt32(n.missingType & 3) << 29
        if n.defaultLeft { word |= Self.defaultLeftBit }
        nodes.append(Node(word: word, left: 0, right: 0, threshold: Float(n.threshold), thresholdDouble: n.threshold))
      }
    }
    var k = 0
    for n in source where n.feature >= 0 {
      nodes[k].left = index[Int(n.left)]
      nodes[k].right = index[Int(n.right)]
      k += 1
    }
    self.nodes = nodes
    self.leaves = leaves
    self.roots = sourceRoots.map { index[Int($0)] }
  }

  /// Margins (sum of leaves + `base`) of every row of `values` (row-major, `columns` wide) into `out`.
  func margins(_ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, base: Double,
               semantics: TreeEnsemble.Semantics, bitsets: [[UInt32]], into out: UnsafeMutableBufferPointer<Double>) {
    let blockSize = 32
    nodes.withUnsafeBufferPointer { nodes in
      leaves.withUnsafeBufferPointer { leaves in
        var start = 0
        while start < rows {
          let end = min(rows, start + blockSize)
          for r in start..<end { out[r] = base }
          for root in roots {
            if root < 0 {
              for r in start..<end { out[r] += leaves[Int(~root)] }
              continue
            }
            // Walk the block's rows through this tree together, one level per pass: the rows'
            // node loads are independent, so the processor overlaps their cache misses.
            var r = start
            while r < end {
              let lanes = min(Self.lanes, end - r)
              var cursor = (root, root, root, root, root, root, root, root)
              withUnsafeMutableBytes(of: &cursor) { raw in
                let at = raw.bindMemory(to: Int32.self)
                var active = true
                while active {
                  active = false
                  for k in 0..<lanes where at[k] >= 0 {
                    let n = nodes[Int(at[k])]
                    let row = values.baseAddress! + (r + k) * columns
                    let left: Bool
                    switch semantics {
                    case .xgboost:
                      // Branch-free: a NaN compares false, and then the default direction decides.
                      let x = row[Int(n.word & Self.featureMask)]
                      let less = UInt32(truncatingIfNeeded: (x < n.threshold) ? 1 : 0)
                      let missingLeft = UInt32(truncatingIfNeeded: (x != x) ? 1 : 0) & (n.word >> 31)
                      left = (less | missingLeft) != 0
                    case .lightgbm:
                      let x = Double(row[Int(n.word & Self.featureMask)])
                      left = (n.word & Self.categoricalBit) != 0
                        ? Self.categoryLeft(x, bitsets[Int(n.thresholdDouble)]) : Self.numericalLeft(x, n)
                    }
                    at[k] = left ? n.left : n.right
                    active = active || at[k] >= 0
                  }
                }
                for k in 0..<lanes { out[r + k] += leaves[Int(~at[k])] }
              }
              r += lanes
            }
          }
          start = end
        }
      }
    }
  }

  /// LightGBM's NumericalDecision, branch-free: a NaN becomes 0 unless the missing type is NaN; a
  /// zero (missing type Zero) or a NaN (missing type NaN) takes the default direction.
  @inline(__always) static func numericalLeft(_ value: Double, _ n: Node) -> Bool {
    let missing = (n.word >> 29) & 3
    let nan: UInt32 = value != value ? 1 : 0
    let nanIsMissing: UInt32 = missing == 2 ? 1 : 0
    let x = (nan & ~nanIsMissing) != 0 ? 0 : value
    let zeroIsMissing: UInt32 = missing == 1 ? 1 : 0
    let zero: UInt32 = abs(x) <= 1e-35 ? 1 : 0
    let useDefault = (zeroIsMissing & zero) | (nanIsMissing & nan)
    let less: UInt32 = x <= n.thresholdDouble ? 1 : 0
    let defaultLeft = n.word >> 31
    return ((useDefault & defaultLeft) | (~useDefault & 1 & less)) != 0
  }

  @inline(__always) static func categoryLeft(_ x: Double, _ bits: [UInt32]) -> Bool {
    guard !x.isNaN, x >= 0, x < Double(Int32.max) else { return false }
    let category = Int(x)
    let word = category / 32
    return word < bits.count && (bits[word] >> UInt32(category % 32)) & 1 == 1
  }
}
