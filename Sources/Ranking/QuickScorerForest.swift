import CForestKernels

/// `FlatForest`'s trees in QuickScorer form (Lucchese et al., SIGIR 2015, vectorised over 32 rows
/// as in V-QuickScorer/RapidScorer), for ensembles of trees with at most 64 leaves that are too deep
/// or too sparse for `CompleteForest` — LightGBM's leaf-wise trees of 63 leaves, up to ~20 deep.
///
/// A tree's leaves are numbered left to right; each split holds the mask of leaves that survive when
/// a row does not go left (`x > T` clears the leaves of its left subtree). Splits are grouped by
/// block of trees, feature and missing-value direction, sorted by threshold: a row visits only the
/// splits it fails, with no data-dependent walk, and its exit leaf is the lowest bit left. The
/// kernel (`CForestKernels`) does 32 rows per pass with AVX-512 masked ANDs where the CPU has them,
/// else with AVX2 compares and ANDs (rows compared as doubles, which give 64-bit lane masks).
///
/// Every decision is `FlatForest`'s (go left when `x <= T` in float, NaN by its split's direction),
/// and leaves are added in tree order, so scores are bit-identical to the flat walk. Immutable;
/// thread-safe; scoring allocates nothing beyond a stack buffer of 34 floats per feature
/// and 16 KiB of masks.
struct QuickScorerForest: Sendable {
  /// Which kernel runs the passes.
  enum Kernel: String, Sendable {
    /// AVX-512 F masked ANDs (selected when the CPU has them).
    case avx512
    /// AVX2 compares and ANDs (selected when the CPU has AVX2 and not AVX-512).
    case avx2
    /// Plain 32-lane loops: any CPU; the reference the vector kernels are tested against.
    case portable

    /// The kernels this CPU can run, fastest first.
    static var available: [Kernel] {
      (CPUFeatures.avx512f ? [.avx512] : []) + (CPUFeatures.avx2 ? [.avx2] : []) + [.portable]
    }

    /// The C kernel, or the portable one when the CPU lacks this one's extension.
    var c: funnel_qs_kernel {
      switch self {
      case .avx512 where CPUFeatures.avx512f: FUNNEL_QS_AVX512
      case .avx2 where CPUFeatures.avx2: FUNNEL_QS_AVX2
      default: FUNNEL_QS_PORTABLE
      }
    }
  }

  static let maxLeaves = 64

  let nodes: [funnel_qs_node]
  let lists: [funnel_qs_list]
  let blocks: [funnel_qs_block]
  /// 64 leaf values per tree.
  let leaves: [Double]
  var kernel: Kernel

  /// The QuickScorer form of `flat`'s trees, or nil when a tree has more than 64 leaves.
  init?(_ flat: FlatForest, treesPerBlock: Int = Int(FUNNEL_QS_MAX_BLOCK_TREES)) {
    precondition((1...Int(FUNNEL_QS_MAX_BLOCK_TREES)).contains(treesPerBlock), "trees per block out of range")
    guard !flat.roots.isEmpty else { return nil }
    struct Split { var column: UInt32, nanRight: UInt32, threshold: Float, tree: UInt32, mask: UInt64 }
    var splits: [Split] = []
    var leaves = [Double](repeating: 0, count: flat.roots.count * Self.maxLeaves)
    for (t, root) in flat.roots.enumerated() {
      // In-order walk: leaves get numbers left to right; a split's left subtree is the range
      // [first leaf before it, first leaf after its left subtree).
      var count = 0
      var fits = true
      func visit(_ i: Int) {
        let node = flat.nodes[i]
        if Int(node.left) == i {
          if count < Self.maxLeaves { leaves[t * Self.maxLeaves + count] = flat.value[i] } else { fits = false }
          count += 1
          return
        }
        let first = count
        visit(Int(node.left))
        let width = count - first
        visit(Int(node.left) + 1)
        guard fits, count <= Self.maxLeaves else { fits = false; return }
        let leftLeaves: UInt64 = width == 64 ? ~0 : ((1 << UInt64(width)) - 1) << UInt64(first)
        let nanLeft = node.word & FlatForest.nanLeftBit != 0
        splits.append(Split(column: node.word & ~FlatForest.nanLeftBit, nanRight: nanLeft ? 0 : 1,
                            threshold: node.threshold, tree: UInt32(t), mask: ~leftLeaves))
      }
      visit(Int(root))
      guard fits, count <= Self.maxLeaves else { return nil }
    }
    // Group by block, then feature and direction; each list in ascending threshold order.
    splits.sort { a, b in
      let (ba, bb) = (Int(a.tree) / treesPerBlock, Int(b.tree) / treesPerBlock)
      if ba != bb { return ba < bb }
      if a.column != b.column { return a.column < b.column }
      if a.nanRight != b.nanRight { return a.nanRight < b.nanRight }
      return a.threshold < b.threshold
    }
    var nodes: [funnel_qs_node] = [], lists: [funnel_qs_list] = [], blocks: [funnel_qs_block] = []
    nodes.reserveCapacity(splits.count)
    for first in stride(from: 0, to: flat.roots.count, by: treesPerBlock) {
      blocks.append(funnel_qs_block(first_tree: UInt32(first), tree_count: UInt32(min(treesPerBlock, flat.roots.count - first)),
                                    first_list: 0, list_count: 0))
    }
    var i = 0
    while i < splits.count {
      let head = splits[i]
      let block = Int(head.tree) / treesPerBlock
      let start = nodes.count
      while i < splits.count, Int(splits[i].tree) / treesPerBlock == block, splits[i].column == head.column,
            splits[i].nanRight == head.nanRight {
        let s = splits[i]
        nodes.append(funnel_qs_node(threshold: s.threshold, tree: UInt32(Int(s.tree) % treesPerBlock), mask: s.mask))
        i += 1
      }
      if blocks[block].list_count == 0 { blocks[block].first_list = UInt32(lists.count) }
      lists.append(funnel_qs_list(start: UInt32(start), end: UInt32(nodes.count), column: head.column, nan_right: head.nanRight))
      blocks[block].list_count += 1
    }
    (self.nodes, self.lists, self.blocks, self.leaves) = (nodes, lists, blocks, leaves)
    self.kernel = Kernel.available[0]
  }

  /// Adds every tree's leaf to `out[r]` for the `rows` rows of `values` (row-major, `columns` wide),
  /// trees in order. O(rows x splits) at worst; typically each row fails half of the splits.
  func addMargins(_ values: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Double>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: funnel_qs_scratch_floats(columns)) { scratch in
      nodes.withUnsafeBufferPointer { nodes in
        lists.withUnsafeBufferPointer { lists in
          blocks.withUnsafeBufferPointer { blocks in
            leaves.withUnsafeBufferPointer { leaves in
              var forest = funnel_qs_forest(nodes: nodes.baseAddress, lists: lists.baseAddress, blocks: blocks.baseAddress,
                                            block_count: UInt32(blocks.count), leaves: leaves.baseAddress)
              funnel_qs_add_margins(&forest, values, rows, columns, out, scratch.baseAddress, kernel.c)
            }
          }
        }
      }
    }
  }
}
