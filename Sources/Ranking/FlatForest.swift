/// The fast scoring layout for numerical trees: each tree laid out breadth-first with the two
/// children of a node in adjacent slots (`right = left + 1`), every split reduced to one test
/// "go left if x <= T, or if x is NaN and the node sends missing values left", and leaves that loop to
/// themselves (T = +inf, missing left). A row then takes exactly `depth` steps through a tree with no
/// branch on the data: `next = left[i] + (goLeft ? 0 : 1)`. Eight rows walk a tree together, so their
/// independent loads overlap (predicated, interleaved traversal in the manner of treelite/lleaves).
///
/// Built only when it is exact: XGBoost's `x < t` on floats equals `x <= t.nextDown`; LightGBM's
/// `Double(x) <= t` equals `x <= T` with T the largest float not above t, and its missing types None
/// (NaN compares as 0) and NaN (default direction) become the NaN bit. Categorical splits, LightGBM's
/// missing type Zero and -inf thresholds keep the general `PackedForest`.
///
/// Immutable; thread-safe; scoring allocates nothing.
struct FlatForest: Sendable {
  /// One node in 12 bytes, so a step touches one cache line: feature index (low 31 bits) | NaN goes
  /// left (bit 31); the threshold; the left child (the right child is `left + 1`; a leaf points at itself).
  struct Node: Sendable {
    var word: UInt32
    var threshold: Float
    var left: Int32
  }
  let nodes: [Node]
  /// Leaf values (0 at internal nodes).
  let value: [Double]
  /// Root slot and number of steps (maximum depth) of each tree with at least one split.
  let roots: [Int32]
  let depths: [Int32]
  /// Sum of the trees that are a single leaf.
  let constant: Double
  /// The same trees padded to complete ones, when they are shallow enough (the fastest walk).
  var complete: CompleteForest?
  /// The same trees in QuickScorer form, when they are not complete-able but have at most 64 leaves.
  var quick: QuickScorerForest?

  static let nanLeftBit: UInt32 = 1 << 31

  /// The flat layout of `nodes`/`roots`, or nil when a split cannot be expressed exactly.
  init?(nodes source: [TreeEnsemble.Node], roots sourceRoots: [Int32], semantics: TreeEnsemble.Semantics) {
    var nodes: [Node] = [], value: [Double] = []
    var roots: [Int32] = [], depths: [Int32] = []
    var constant = 0.0
    // A new slot starts as a leaf shape (T = +inf, NaN left); a split overwrites it.
    func slot() -> Int {
      nodes.append(Node(word: Self.nanLeftBit, threshold: .infinity, left: 0))
      value.append(0)
      return nodes.count - 1
    }
    for root in sourceRoots {
      let rootNode = source[Int(root)]
      guard rootNode.feature >= 0 else {
        constant += rootNode.value
        continue
      }
      let first = slot()
      var queue: [(from: Int32, slot: Int, depth: Int32)] = [(root, first, 0)]
      var maxDepth: Int32 = 0
      var head = 0
      while head < queue.count {
        let (from, s, depth) = queue[head]
        head += 1
        let node = source[Int(from)]
        guard node.feature >= 0 else {
          nodes[s].left = Int32(s)  // stays here: T = +inf and NaN left, as `slot()` made it
          value[s] = node.value
          maxDepth = max(maxDepth, depth)
          continue
        }
        guard !node.categorical, node.feature <= Int32(Int32.max >> 1) else { return nil }
        let t: Float
        let nanLeft: Bool
        switch semantics {
        case .xgboost:
          let f = Float(node.threshold)
          guard f > -.infinity, !f.isNaN else { return nil }
          (t, nanLeft) = (f.nextDown, node.defaultLeft)
        case .lightgbm:
          guard node.missingType != 1, !node.threshold.isNaN else { return nil }
          var f = Float(node.threshold)
          if Double(f) > node.threshold { f = f.nextDown }
          // Missing type NaN: the default direction; None: NaN is compared as 0.
          (t, nanLeft) = (f, node.missingType == 2 ? node.defaultLeft : 0 <= node.threshold)
        }
        let children = slot()
        _ = slot()
        nodes[s] = Node(word: UInt32(node.feature) | (nanLeft ? Self.nanLeftBit : 0), threshold: t, left: Int32(children))
        queue.append((node.left, children, depth + 1))
        queue.append((node.right, children + 1, depth + 1))
      }
      roots.append(Int32(first))
      depths.append(maxDepth)
    }
    (self.nodes, self.value) = (nodes, value)
    (self.roots, self.depths, self.constant) = (roots, depths, constant)
    (self.complete, self.quick) = (nil, nil)
    self.complete = CompleteForest(self)
    // Without AVX2, QuickScorer's portable kernel is no faster than the flat walk on the LightGBM
    // benchmark model (`funnel model bench --layout`), so it is chosen only with a vector kernel.
    if complete == nil, CPUFeatures.avx512f || CPUFeatures.avx2 { self.quick = QuickScorerForest(self) }
  }

  /// Margins (`base` + sum of leaves) of every row of `values` (row-major, `columns` wide) into `out`.
  /// O(rows x sum of tree depths), no allocation.
  func margins(_ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, base: Double,
               into out: UnsafeMutableBufferPointer<Double>) {
    guard rows > 0, let data = values.baseAddress else { return }
    for r in 0..<rows { out[r] = base + constant }
    if let complete {
      complete.addMargins(data, rows: rows, columns: columns, into: out.baseAddress!)
      return
    }
    if let quick {
      quick.addMargins(data, rows: rows, columns: columns, into: out.baseAddress!)
      return
    }
    nodes.withUnsafeBufferPointer { nodes in
      value.withUnsafeBufferPointer { value in
        let (n, v) = (nodes.baseAddress!, value.baseAddress!)
        // Blocks of 64 rows stay in cache while every tree passes over them.
        var start = 0
        while start < rows {
          let end = min(rows, start + 64)
          for (tree, root) in roots.enumerated() {
            let depth = depths[tree]
            var r = start
            while r + 8 <= end {
              Self.walk8(data + r * columns, columns, root, depth, n, v, out.baseAddress! + r)
              r += 8
            }
            while r < end {
              let row = data + r * columns
              var i = Int(root)
              for _ in 0..<depth { i = Self.step(i, row, n) }
              out[r] += v[i]
              r += 1
            }
          }
          start = end
        }
      }
    }
  }

  /// One step: the child of node `i` for `row`.
  @inline(__always)
  static func step(_ i: Int, _ row: UnsafePointer<Float>, _ nodes: UnsafePointer<Node>) -> Int {
    let node = nodes[i]
    let word = node.word
    let x = row[Int(word & ~nanLeftBit)]
    // Integer flags, not `||`: a short-circuit is a branch, and random splits mispredict half of them.
    let le: UInt32 = x <= node.threshold ? 1 : 0
    let nan: UInt32 = x != x ? 1 : 0
    let goRight = (le | (nan & (word >> 31))) ^ 1
    return Int(node.left) &+ Int(goRight)
  }

  /// Eight consecutive rows through one tree, their steps interleaved.
  @inline(__always)
  static func walk8(_ rows: UnsafePointer<Float>, _ columns: Int, _ root: Int32, _ depth: Int32,
                    _ n: UnsafePointer<Node>, _ v: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
    let c = columns
    var (i0, i1, i2, i3, i4, i5, i6, i7) = (Int(root), Int(root), Int(root), Int(root), Int(root), Int(root), Int(root), Int(root))
    for _ in 0..<depth {
      i0 = step(i0, rows, n)
      i1 = step(i1, rows + c, n)
      i2 = step(i2, rows + 2 * c, n)
      i3 = step(i3, rows + 3 * c, n)
      i4 = step(i4, rows + 4 * c, n)
      i5 = step(i5, rows + 5 * c, n)
      i6 = step(i6, rows + 6 * c, n)
      i7 = step(i7, rows + 7 * c, n)
    }
    out[0] += v[i0]; out[1] += v[i1]; out[2] += v[i2]; out[3] += v[i3]
    out[4] += v[i4]; out[5] += v[i5]; out[6] += v[i6]; out[7] += v[i7]
  }
}
