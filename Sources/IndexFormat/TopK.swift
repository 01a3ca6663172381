import FunnelCore

/// A binary heap ordered by `above` (the element for which `above(a, b)` holds comes out first).
/// Not thread-safe; a value per use.
public struct Heap<Element> {
  /// The elements, in heap order.
  public private(set) var items: [Element] = []
  let above: (Element, Element) -> Bool

  /// An empty heap ordered by `above`.
  public init(by above: @escaping (Element, Element) -> Bool) { self.above = above }

  public var count: Int { items.count }
  /// The element that `pop` would return.
  public var top: Element? { items.first }

  public mutating func push(_ e: Element) {
    items.append(e)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard above(items[i], items[parent]) else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  /// Removes and returns the top element. O(log n).
  public mutating func pop() -> Element? {
    guard !items.isEmpty else { return nil }
    items.swapAt(0, items.count - 1)
    let e = items.removeLast()
    var i = 0
    while true {
      let l = 2 * i + 1, r = l + 1
      var m = i
      if l < items.count, above(items[l], items[m]) { m = l }
      if r < items.count, above(items[r], items[m]) { m = r }
      guard m != i else { break }
      items.swapAt(i, m)
      i = m
    }
    return e
  }
}


/// The `capacity` best (doc, score) pairs seen, for every top-k in recall and search: a bounded heap
/// whose root is the worst kept pair. Ties prefer the lower doc id, so answers are deterministic.
/// O(log k) per offer. Not thread-safe; a value per query.
public struct TopK {
  private var heap = Heap<(DocID, Float)>(by: { TopK.worse($0, $1) })
  /// Most pairs kept.
  public let capacity: Int

  /// An empty selection of at most `capacity` pairs.
  public init(capacity: Int) { self.capacity = capacity }

  /// Whether `a` ranks below `b` (worse score, or equal score and higher doc id).
  @inline(__always) static func worse(_ a: (DocID, Float), _ b: (DocID, Float)) -> Bool {
    a.1 != b.1 ? a.1 < b.1 : a.0 > b.0
  }

  /// Keeps (doc, score) if it is among the best `capacity` so far.
  public mutating func offer(_ doc: DocID, _ score: Float) {
    guard capacity > 0 else { return }
    if heap.count < capacity {
      heap.push((doc, score))
    } else if let worst = heap.top, Self.worse(worst, (doc, score)) {
      _ = heap.pop()
      heap.push((doc, score))
    }
  }

  /// Whether `capacity` pairs are held.
  public var isFull: Bool { heap.count == capacity }
  /// The worst kept score. Precondition: not empty.
  public var minimumScore: Float { heap.top!.1 }

  /// The kept pairs, best first.
  public func sortedDescending() -> [(DocID, Float)] { heap.items.sorted { Self.worse($1, $0) } }

  /// The `k` best of `scores`, best first. O(n log k).
  public static func best(_ scores: [DocID: Float], k: Int) -> [(DocID, Float)] {
    var top = TopK(capacity: k)
    for (doc, score) in scores { top.offer(doc, score) }
    return top.sortedDescending()
  }
}
