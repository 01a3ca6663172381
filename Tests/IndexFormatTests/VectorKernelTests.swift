import CVectorKernels
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import MappedStorage
import Testing

/// The vector kernels this machine runs (AVX-512, AVX2 + FMA, portable) return the same sums bit for
/// bit, at every length around the 8- and 16-lane edges; the batch and visit steps score what one
/// product scores; and the HNSW search finds nearly what exact search finds.
@Suite struct VectorKernelTests {
  static func randomVector(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in Float(rng.unit() * 2 - 1) * (rng.next() % 7 == 0 ? 1e3 : 1) }
  }

  @Test func everyKernelSumsAlike() {
    var rng = SplitMix64(seed: 41)
    let kernels = VectorKernel.available
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    if flags.contains(" avx2") && flags.contains(" fma") { #expect(kernels.contains(FUNNEL_VEC_AVX2)) }
    if flags.contains(" avx512f") { #expect(kernels.contains(FUNNEL_VEC_AVX512)) }
    for count in [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 257] {
      for _ in 0..<20 {
        let a = Self.randomVector(count, &rng), b = Self.randomVector(count, &rng)
        let reference = funnel_vec_dot(a, b, count, FUNNEL_VEC_PORTABLE)
        let naive = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(Double(reference) - naive) <= 1e-3 * max(1, abs(naive)), "length \(count)")
        for kernel in kernels {
          #expect(funnel_vec_dot(a, b, count, kernel).bitPattern == reference.bitPattern, "kernel \(kernel.rawValue), length \(count)")
        }
      }
    }
  }

  @Test func batchAndVisitScoreLikeOneProduct() {
    var rng = SplitMix64(seed: 43)
    let dimension = 24, rows = 50
    let vectors = (0..<rows).flatMap { _ in Self.randomVector(dimension, &rng) }
    let query = Self.randomVector(dimension, &rng)
    let ids: [UInt32] = [3, 17, 3, 49, 0, 17, 22]
    for kernel in VectorKernel.available {
      var scores = [Float](repeating: 0, count: ids.count)
      funnel_vec_dots(query, vectors, dimension, ids, ids.count, &scores, kernel)
      for (i, id) in ids.enumerated() {
        let one = vectors.withUnsafeBufferPointer { funnel_vec_dot(query, $0.baseAddress! + Int(id) * dimension, dimension, kernel) }
        #expect(scores[i].bitPattern == one.bitPattern)
      }
      // Visit: ids seen before (marks == stamp), and repeats within the list, are skipped.
      var marks = [UInt16](repeating: 0, count: rows)
      marks[49] = 5
      var out = [UInt32](repeating: 0, count: ids.count), outScores = [Float](repeating: 0, count: ids.count)
      let fresh = funnel_vec_visit(ids, ids.count, &marks, 5, query, vectors, dimension, &out, &outScores, kernel)
      #expect(Array(out.prefix(fresh)) == [3, 17, 0, 22])
      #expect(marks[3] == 5 && marks[0] == 5 && marks[1] == 0)
      for i in 0..<fresh { #expect(outScores[i].bitPattern == scores[ids.firstIndex(of: out[i])!].bitPattern) }
    }
  }

  /// The scan of a whole matrix scores each row as one product does, bit for bit, with every kernel:
  /// around the eight-row blocks and the 8- and 16-lane edges of a row. With no threshold it keeps
  /// every row in order; with one, exactly the rows not below it (the median's row included).
  @Test func scanScoresEveryRowLikeOneProduct() {
    var rng = SplitMix64(seed: 47)
    for dimension in [1, 7, 8, 15, 16, 17, 32, 33, 64, 100] {
      for rows in [0, 1, 7, 8, 9, 16, 23] {
        let vectors = (0..<rows).flatMap { _ in Self.randomVector(dimension, &rng) }
        let query = Self.randomVector(dimension, &rng)
        let products = (0..<rows).map { row in
          vectors.withUnsafeBufferPointer { funnel_vec_dot(query, $0.baseAddress! + row * dimension, dimension, FUNNEL_VEC_PORTABLE) }
        }
        let median = products.sorted().dropFirst(rows / 2).first ?? 0
        for kernel in VectorKernel.available {
          for threshold in [-Float.infinity, median] {
            var scores = [Float](repeating: .nan, count: rows), kept = [UInt32](repeating: .max, count: rows)
            let n = funnel_vec_scan_above(query, vectors, dimension, rows, threshold, &scores, &kept, kernel)
            let expected = (0..<rows).filter { !(products[$0] < threshold) }
            let context: Comment = "kernel \(kernel.rawValue), dimension \(dimension), \(rows) rows, threshold \(threshold)"
            #expect(kept.prefix(n).map(Int.init) == expected, context)
            for (i, row) in zip(0..<n, kept) where Int(row) < rows {
              #expect(scores[i].bitPattern == products[Int(row)].bitPattern, context)
            }
          }
        }
      }
    }
  }

  /// The scan's first threshold comes from a sample of rows; when the sampled rows are the only good
  /// ones, fewer than k reach it and the scan is done again without one: still the exact top k.
  @Test func aMisleadingSampleStillGivesTheExactTopK() throws {
    let dimension = 8, count = 3_000, runs = 8, run = 64
    let sampled = Set((0..<runs).flatMap { r in (r * (count / runs))..<(r * (count / runs) + run) })
    // Sampled rows close to the query's direction (distinct angles), every other row far from it.
    let vectors: [[Float]] = (0..<count).map { i in
      let angle = sampled.contains(i) ? 0.01 + Double(i) * 1e-4 : 1.2 + Double(i) * 1e-4
      var v = [Float](repeating: 0, count: dimension)
      v[0] = Float(cos(angle))
      v[1] = Float(sin(angle))
      return v
    }
    let file = VectorIndexBuilder.file(vectors: vectors, m: 8, efConstruction: 32)
    let index = try VectorIndex(ByteRegion(copying: file, name: "vectors"), documentCount: count, verifyChecksum: true)
    let query: [Float] = [1, 0, 0, 0, 0, 0, 0, 0]
    for k in [1, 100, 375] {
      let products: [(Int, Float)] = (0..<count).map { doc in
        (doc, funnel_vec_dot(query, index.vector(DocID(doc)), dimension, FUNNEL_VEC_PORTABLE))
      }
      let expected: [Int] = products.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k).map { $0.0 }
      let got: [Int] = index.search(query, k: k, ef: 1, method: .exhaustive).map { $0.0.index }
      #expect(got == expected, "k \(k)")
    }
  }

  /// Reading every vector gives the exact top k: every row's product sorted (higher first, then the
  /// lower document), at k from one to past the item count, with ties among the scores.
  @Test func exhaustiveSearchIsTheExactTopK() throws {
    var rng = SplitMix64(seed: 53)
    let dimension = 20
    // Every third vector repeats an earlier one: equal scores, ordered by document.
    var vectors: [[Float]] = []
    for i in 0..<3_000 { vectors.append(i % 3 == 2 ? vectors[i / 2] : Self.randomVector(dimension, &rng)) }
    let file = VectorIndexBuilder.file(vectors: vectors, m: 8, efConstruction: 32)
    let index = try VectorIndex(ByteRegion(copying: file, name: "vectors"), documentCount: vectors.count, verifyChecksum: true)
    let stored = (0..<vectors.count).map { index.vector(DocID($0)) }
    for (q, k) in [(0, 1), (1, 10), (2, 100), (3, 1_499), (4, 3_000), (5, 5_000)] {
      let raw = Self.randomVector(dimension, &rng)
      let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
      let query = raw.map { $0 / norm }
      let expected = stored.enumerated().map { ($0.offset, funnel_vec_dot(query, $0.element, dimension, FUNNEL_VEC_PORTABLE)) }
        .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k)
      let got = index.search(raw, k: k, ef: 1, method: .exhaustive)
      #expect(got.map(\.0.index) == expected.map(\.0), "query \(q), k \(k)")
      #expect(got.map(\.1) == expected.map { $0.1 == 0 ? 0 : $0.1 }, "query \(q), k \(k)")
    }
  }

  /// A graph over clustered vectors: the search (greedy descent, a beam on level 1, then level 0)
  /// finds at least 95% of the exact top 10 at ef 64.
  @Test func searchFindsWhatExactSearchFinds() throws {
    var rng = SplitMix64(seed: 47)
    let centres = (0..<20).map { _ in Self.randomVector(16, &rng) }
    let vectors = (0..<3_000).map { i in centres[i % 20].map { $0 + Float(rng.unit() * 0.6 - 0.3) } }
    let file = VectorIndexBuilder.file(vectors: vectors, m: 8, efConstruction: 64)
    let index = try VectorIndex(ByteRegion(copying: file, name: "vectors"), documentCount: vectors.count, verifyChecksum: true)
    var found = 0
    for q in 0..<100 {
      let query = vectors[(q * 37) % vectors.count].map { $0 + Float(rng.unit() * 0.2 - 0.1) }
      let exact = Set(index.exactSearch(query, k: 10).map(\.0))
      found += index.search(query, k: 10, ef: 64, method: .graph).filter { exact.contains($0.0) }.count
    }
    #expect(found >= 950, "recall@10 \(Double(found) / 1_000)")
  }
}
