import Bitmaps
import Foundation
import FunnelCore
import IndexFormat
import MappedStorage

/// Counts the facets a search asks for over its matches (after the filter and stock checks), one
/// pass over the match bitmap per facet: keyword values through `FacetColumn`s, category nodes
/// through the item table's leaf column and the category tree, bands by binary search in the edges.
/// Docs past the generation's items (added live by the catalog overlay) count in categories and
/// bands, not in keyword values (they have no keyword bitmaps until the next generation).
/// Stateless apart from the column cache; O(matches x facets + values log values).
public struct FacetCounter: Sendable {
  let columns: FacetColumnCache

  /// A counter building keyword columns through `columns`.
  public init(columns: FacetColumnCache) { self.columns = columns }

  /// The counts of each of `facets` over `matches` in `generation`, at most `size` values per facet
  /// (per level for categories; every band). Throws only for a corrupt index.
  public func count(_ facets: [FacetRequest], over matches: RoaringBitmap, in generation: IndexGeneration,
                    size: Int) throws -> [FacetResult] {
    try count(facets, over: matches.values, in: generation, size: size)
  }

  /// The same over `matches` as ascending doc ids (the bitmap's values, read once for every facet:
  /// plain loops over an array are several times faster than a callback per value).
  public func count(_ facets: [FacetRequest], over matches: [UInt32], in generation: IndexGeneration,
                    size: Int) throws -> [FacetResult] {
    try facets.map { facet in
      switch facet.kind {
      case .values(let field):
        return FacetResult(name: facet.name, values: try values(field, matches, generation, size: size))
      case .categories:
        return FacetResult(name: facet.name, values: categories(matches, generation, size: size))
      case .bands(let attribute, let edges):
        return FacetResult(name: facet.name, values: bands(attribute, edges, matches, generation))
      }
    }
  }

  private func values(_ field: String, _ matches: [UInt32], _ generation: IndexGeneration, size: Int) throws -> [FacetResult.Value] {
    let column = try columns.column(field, in: generation)
    guard column.valueCount > 0 else { return [] }
    var counts = [Int](repeating: 0, count: column.valueCount)
    if let single = column.single {
      single.withUnsafeBufferPointer { single in
        counts.withUnsafeMutableBufferPointer { counts in
          for doc in matches where Int(doc) < single.count && single[Int(doc)] != .max { counts[Int(single[Int(doc)])] += 1 }
        }
      }
    } else {
      column.starts.withUnsafeBufferPointer { starts in
        column.values.withUnsafeBufferPointer { values in
          counts.withUnsafeMutableBufferPointer { counts in
            for doc in matches where Int(doc) + 1 < starts.count {
              for i in Int(starts[Int(doc)])..<Int(starts[Int(doc) + 1]) { counts[Int(values[i])] += 1 }
            }
          }
        }
      }
    }
    let best = Self.best(counts, size: size)
    return best.map { ordinal in
      FacetResult.Value(value: displayValue(field, key: column.firstKey + ordinal, generation), count: counts[ordinal])
    }
  }

  /// The stored form of a brand (the keyword is lower-cased), from the first item that has it.
  private func displayValue(_ field: String, key: Int, _ generation: IndexGeneration) -> String {
    let value = generation.keywords.value(at: key)
    guard field == "brand", let docs = try? generation.keywords.documents(at: key) else { return value }
    guard let first = docs.minimum, Int(first) < generation.items.count else { return value }
    let brand = generation.items.item(DocID(rawValue: first)).brand
    return brand.lowercased() == value ? brand : value
  }

  private func categories(_ matches: [UInt32], _ generation: IndexGeneration, size: Int) -> [FacetResult.Value] {
    let items = generation.items
    let keys = items.categoryKeys
    guard keys.count > 0 else { return [] }
    var leafCounts = [Int](repeating: 0, count: keys.count)
    items.leafColumn.withUnsafeBufferPointer { leaves in
      for doc in matches {
        let leaf = Int(doc) < leaves.count ? leaves[Int(doc)] : items.leafCategory(DocID(rawValue: doc))
        if leaf != ItemTable.noParent, Int(leaf) < keys.count { leafCounts[Int(leaf)] += 1 }
      }
    }
    // Each node counts its leaves' matches: add every leaf's count to each of its ancestors.
    var counts = [Int](repeating: 0, count: keys.count)
    var depth = [Int](repeating: 0, count: keys.count)
    for leaf in leafCounts.indices where leafCounts[leaf] > 0 {
      var node = UInt32(leaf)
      var steps = 0
      while node != ItemTable.noParent, steps <= keys.count {
        counts[Int(node)] += leafCounts[leaf]
        node = items.parent(ofCategory: node)
        steps += 1
      }
    }
    for node in counts.indices where counts[node] > 0 {
      var parent = items.parent(ofCategory: UInt32(node))
      while parent != ItemTable.noParent, depth[node] <= keys.count {
        depth[node] += 1
        parent = items.parent(ofCategory: parent)
      }
    }
    // The best `size` nodes of each level, shallow levels first.
    var result: [FacetResult.Value] = []
    for level in Set(depth.indices.filter { counts[$0] > 0 }.map { depth[$0] }).sorted() {
      let nodes = counts.indices.filter { counts[$0] > 0 && depth[$0] == level }
      let best = nodes.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : keys[$0] < keys[$1] }.prefix(size)
      for node in best {
        let parent = items.parent(ofCategory: UInt32(node))
        result.append(.init(value: keys[node], count: counts[node], parent: parent == ItemTable.noParent ? "" : keys[Int(parent)]))
      }
    }
    return result
  }

  private func bands(_ attribute: String?, _ edges: [Double]?, _ matches: [UInt32],
                     _ generation: IndexGeneration) -> [FacetResult.Value] {
    let value: (UInt32) -> Double
    if let attribute {
      guard let column = generation.attributes?.column(attribute) else { return [] }
      let n = generation.items.count
      value = { Int($0) < n ? column[Int($0)] : .nan }
    } else {
      let items = generation.items
      value = { items.price(DocID(rawValue: $0)) }
    }
    let edges = edges ?? Self.automaticEdges(matches, value)
    guard !edges.isEmpty else { return [] }
    // Band 0 is below the first edge, band i in [edges[i-1], edges[i]), the last from the last edge.
    var counts = [Int](repeating: 0, count: edges.count + 1)
    if attribute == nil, generation.overlay == nil {
      // No live changes: the mapped price column is every doc's price.
      generation.items.prices.withUnsafeBufferPointer { prices in
        for doc in matches where Int(doc) < prices.count {
          let x = prices[Int(doc)]
          if !x.isNaN { counts[Self.band(x, edges)] += 1 }
        }
      }
    } else {
      for doc in matches {
        let x = value(doc)
        if !x.isNaN { counts[Self.band(x, edges)] += 1 }
      }
    }
    var result: [FacetResult.Value] = []
    for band in counts.indices {
      let low = band == 0 ? nil : edges[band - 1]
      let high = band == edges.count ? nil : edges[band]
      // The open band below the first edge is shown only when something is in it.
      if band == 0, counts[0] == 0 { continue }
      let label = switch (low, high) {
      case (nil, let h?): "<\(Self.format(h))"
      case (let l?, nil): "\(Self.format(l))+"
      case (let l?, let h?): "\(Self.format(l))-\(Self.format(h))"
      default: "all"
      }
      result.append(.init(value: label, count: counts[band], low: low, high: high))
    }
    return result
  }

  /// The band of `x`: the number of edges at or below it. O(log edges).
  @inline(__always) static func band(_ x: Double, _ edges: [Double]) -> Int {
    var low = 0, high = edges.count
    while low < high {
      let mid = (low + high) / 2
      if edges[mid] <= x { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// Edges at the quintiles of the matches' values (up to 1,024 of them sampled evenly), each
  /// rounded down to a round number (see `round`), duplicates removed.
  static func automaticEdges(_ matches: [UInt32], _ value: (UInt32) -> Double) -> [Double] {
    let n = matches.count
    guard n > 0 else { return [] }
    var sample: [Double] = []
    sample.reserveCapacity(min(n, 1_025))
    for i in Swift.stride(from: 0, to: n, by: max(1, n / 1_024)) {
      let x = value(matches[i])
      if x.isFinite { sample.append(x) }
    }
    guard !sample.isEmpty else { return [] }
    sample.sort()
    var edges: [Double] = []
    for q in 1...4 {
      let x = round(sample[min(sample.count - 1, sample.count * q / 5)])
      if x > (edges.last ?? -.infinity), x > sample[0] { edges.append(x) }
    }
    return edges
  }

  /// `x` rounded down to 1, 1.5, 2, 2.5, 3, 4, 5 or 7.5 times a power of ten (0 and negatives kept).
  static func round(_ x: Double) -> Double {
    guard x > 0, x.isFinite else { return x }
    let power = pow(10, floor(log10(x)))
    for step in [7.5, 5, 4, 3, 2.5, 2, 1.5, 1] where step * power <= x { return step * power }
    return power
  }

  private static func format(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
  }

  /// Indexes of the `size` largest non-zero counts, largest first (ties by index, i.e. value order).
  static func best(_ counts: [Int], size: Int) -> [Int] {
    var heap = TopK(capacity: size)
    for (i, c) in counts.enumerated() where c > 0 { heap.offer(DocID(rawValue: UInt32(i)), Float(c)) }
    return heap.sortedDescending().map { Int($0.0.rawValue) }
  }
}
