import CForestKernels

/// `FlatForest`'s trees padded to complete binary trees in heap order (children of node h at 2h + 1
/// and 2h + 2), for shallow ensembles (at most `maxDepth`, e.g. XGBoost's depth-6 trees): a step
/// loads one 8-byte node and one value and needs no child pointer and no NaN test, because each row
/// is first copied as value pairs (NaN -> -inf, NaN -> +inf) and a node reads the copy that sends
/// NaN its way (`x <= T` holds for -inf, never for +inf; other values are the same in both copies).
/// A leaf above the bottom becomes nodes that always go left (T = +inf) down to the leftmost bottom
/// slot, which holds its value. Every decision is `FlatForest`'s, so scores are identical.
/// Three kernels: an AVX-512 one in C (`CForestKernels`: 16 rows per vector, nodes of the first six
/// levels picked by register permutes) where the CPU has it, an AVX2 one (eight rows per vector:
/// every node of a tree's top four levels compared and the lanes' results picked by blends, the
/// levels below walked row by row) where it has only that, and a portable walk of eight rows at a
/// time; all add leaves tree by tree, so their sums are bit-identical.
/// Immutable; thread-safe; scoring allocates nothing beyond a stack buffer.
struct CompleteForest: Sendable {
  /// Which kernel walks the trees.
  enum Kernel: String, Sendable {
    /// AVX-512 F permutes and gathers (selected when the CPU has them).
    case avx512
    /// AVX2 compares and blends for the top levels, scalar steps below (selected when the CPU has
    /// AVX2 but not AVX-512).
    case avx2
    /// Eight rows interleaved in Swift: any CPU; the reference the C kernels are tested against.
    case portable
  }

  static let maxDepth: Int32 = 10
  /// Rows per block: their value pairs (2 x columns floats each) stay in L1 while every tree passes.
  static let blockRows = 32

  /// A node: the index in the paired row (2 x feature + 0 when NaN goes left, + 1 when right), and T.
  struct Node: Sendable {
    var pair: UInt32
    var threshold: Float
  }
  let nodes: [Node]
  /// The nodes again as two arrays (the C kernel loads a level's thresholds or slots as a vector).
  let thresholds: [Float]
  let slots: [UInt32]
  let leaves: [Double]
  /// `leaves` as floats when every one is a float (XGBoost's are), else empty: the AVX-512 kernel
  /// then picks a tree's leaves from registers instead of gathering them.
  let floatLeaves: [Float]
  var kernel: Kernel = CPUFeatures.avx512f ? .avx512 : CPUFeatures.avx2 ? .avx2 : .portable

  /// The kernels this CPU can run, fastest first.
  static var availableKernels: [Kernel] {
    (CPUFeatures.avx512f ? [.avx512] : []) + (CPUFeatures.avx2 ? [.avx2] : []) + [.portable]
  }
  /// Per tree: first node, first leaf, depth.
  let nodeOffsets: [Int32]
  let leafOffsets: [Int32]
  let depths: [Int32]

  /// The complete layout of `flat`'s trees, or nil when one is deeper than `maxDepth`, padding would
  /// more than double the splits, or a split at T = +inf sends NaN right (which the paired copy cannot
  /// express).
  init?(_ flat: FlatForest) {
    guard !flat.roots.isEmpty, flat.depths.allSatisfy({ (1...Self.maxDepth).contains($0) }) else { return nil }
    // Padding must not blow the trees out of cache: sparse deep trees (LightGBM's leaf-wise ones)
    // stay flat, where a walk costs the same number of steps in a smaller footprint.
    let splits = flat.nodes.indices.filter { Int(flat.nodes[$0].left) != $0 }.count
    let padded = flat.depths.reduce(0) { $0 + (1 << Int($1)) - 1 }
    guard padded <= 2 * splits else { return nil }
    var nodes: [Node] = [], leaves: [Double] = []
    var nodeOffsets: [Int32] = [], leafOffsets: [Int32] = []
    for (root, depth) in zip(flat.roots, flat.depths) {
      let base = nodes.count, leafBase = leaves.count
      let inner = (1 << Int(depth)) - 1
      nodeOffsets.append(Int32(base))
      leafOffsets.append(Int32(leafBase))
      nodes += [Node](repeating: Node(pair: 0, threshold: .infinity), count: inner)
      leaves += [Double](repeating: 0, count: inner + 1)
      var stack: [(Int, Int, Int32)] = [(Int(root), 0, 0)]  // (flat slot, heap index, level)
      while let (i, h, level) = stack.popLast() {
        let node = flat.nodes[i]
        if Int(node.left) == i {  // a leaf: its value goes to the leftmost bottom slot below h
          var bottom = h
          for _ in level..<depth { bottom = 2 * bottom + 1 }
          leaves[leafBase + bottom - inner] = flat.value[i]
          continue
        }
        let feature = node.word & ~FlatForest.nanLeftBit
        let nanLeft = node.word & FlatForest.nanLeftBit != 0
        // NaN read as +inf must go right: impossible past T = +inf (then keep the flat walk).
        guard nanLeft || node.threshold < .infinity else { return nil }
        nodes[base + h] = Node(pair: 2 * feature + (nanLeft ? 0 : 1), threshold: node.threshold)
        stack.append((Int(node.left), 2 * h + 1, level + 1))
        stack.append((Int(node.left) + 1, 2 * h + 2, level + 1))
      }
    }
    (self.nodes, self.leaves) = (nodes, leaves)
    self.floatLeaves = leaves.allSatisfy { Double(Float($0)) == $0 } ? leaves.map { Float($0) } : []
    (self.thresholds, self.slots) = (nodes.map(\.threshold), nodes.map(\.pair))
    (self.nodeOffsets, self.leafOffsets, self.depths) = (nodeOffsets, leafOffsets, flat.depths)
  }

  /// Adds every tree's leaf to `out[r]` for the `rows` rows of `values` (row-major, `columns` wide),
  /// in blocks of `blockRows` rows, trees in order. O(rows x trees x depth).
  func addMargins(_ values: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Double>) {
    let width = 2 * columns
    withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.blockRows * width) { pairs in
      let p = pairs.baseAddress!
      nodes.withUnsafeBufferPointer { nodeBuffer in
        leaves.withUnsafeBufferPointer { leafBuffer in
          let (n, l) = (nodeBuffer.baseAddress!, leafBuffer.baseAddress!)
          var start = 0
          while start < rows {
            let count = min(Self.blockRows, rows - start)
            // Row-major for the Swift walk (slot k of row r at r x width + k); slot-major for the C
            // kernels (at k x 32 + r).
            let (rowStride, slotStride) = kernel == .portable ? (width, 1) : (1, Self.blockRows)
            for r in 0..<count {
              let row = values + (start + r) * columns, pair = p + r * rowStride
              for c in 0..<columns {
                let x = row[c]
                pair[2 * c * slotStride] = x.isNaN ? -.infinity : x
                pair[(2 * c + 1) * slotStride] = x.isNaN ? .infinity : x
              }
            }
            if kernel != .portable {
              // The AVX2 kernel reads whole vectors of eight rows: rows past the block's last are zeros.
              if kernel == .avx2, count < Self.blockRows {
                for k in 0..<width { (p + k * Self.blockRows + count).update(repeating: 0, count: Self.blockRows - count) }
              }
              addMarginsInC(p, rows: count, into: out + start)
              start += count
              continue
            }
            for t in 0..<depths.count {
              let (tree, leaf, depth) = (n + Int(nodeOffsets[t]), l + Int(leafOffsets[t]), Int(depths[t]))
              let firstLeaf = (1 << depth) - 1
              var r = 0
              while r + 8 <= count {
                Self.walk8(p + r * width, width, tree, depth, leaf - firstLeaf, out + start + r)
                r += 8
              }
              while r < count {
                let row = p + r * width
                var h = 0
                for _ in 0..<depth { h = Self.step(h, row, tree) }
                out[start + r] += leaf[h - firstLeaf]
                r += 1
              }
            }
            start += count
          }
        }
      }
    }
  }

  /// The C kernel (`kernel`, not portable) over one block of paired rows, slot-major.
  private func addMarginsInC(_ pairs: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Double>) {
    thresholds.withUnsafeBufferPointer { t in
      slots.withUnsafeBufferPointer { s in
        leaves.withUnsafeBufferPointer { l in
          floatLeaves.withUnsafeBufferPointer { fl in
            nodeOffsets.withUnsafeBufferPointer { n in
              leafOffsets.withUnsafeBufferPointer { lo in
                depths.withUnsafeBufferPointer { d in
                  var forest = funnel_cf_forest(thresholds: t.baseAddress, slots: s.baseAddress, leaves: l.baseAddress,
                                                float_leaves: fl.isEmpty ? nil : fl.baseAddress,
                                                node_offsets: n.baseAddress, leaf_offsets: lo.baseAddress,
                                                depths: d.baseAddress, tree_count: d.count)
                  if kernel == .avx512 {
                    funnel_cf_add_avx512(&forest, pairs, rows, out)
                  } else {
                    funnel_cf_add_avx2(&forest, pairs, rows, out)
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  @inline(__always)
  static func step(_ h: Int, _ row: UnsafePointer<Float>, _ tree: UnsafePointer<Node>) -> Int {
    let node = tree[h]
    let left = row[Int(node.pair)] <= node.threshold ? 1 : 0
    return 2 &* h &+ 2 &- left
  }

  /// Eight rows through one tree, their steps interleaved; `leaf` is indexed by heap index.
  @inline(__always)
  static func walk8(_ rows: UnsafePointer<Float>, _ width: Int, _ tree: UnsafePointer<Node>, _ depth: Int,
                    _ leaf: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
    let w = width
    var (h0, h1, h2, h3, h4, h5, h6, h7) = (0, 0, 0, 0, 0, 0, 0, 0)
    for _ in 0..<depth {
      h0 = step(h0, rows, tree)
      h1 = step(h1, rows + w, tree)
      h2 = step(h2, rows + 2 * w, tree)
      h3 = step(h3, rows + 3 * w, tree)
      h4 = step(h4, rows + 4 * w, tree)
      h5 = step(h5, rows + 5 * w, tree)
      h6 = step(h6, rows + 6 * w, tree)
      h7 = step(h7, rows + 7 * w, tree)
    }
    out[0] += leaf[h0]; out[1] += leaf[h1]; out[2] += leaf[h2]; out[3] += leaf[h3]
    out[4] += leaf[h4]; out[5] += leaf[h5]; out[6] += leaf[h6]; out[7] += leaf[h7]
  }
}
