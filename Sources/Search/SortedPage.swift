import Bitmaps

/// One page of a keyed sort: the `count` documents of a match set that come first by (key,
/// document) after a position, found with a bounded heap in one pass over the matches.
/// O(matches x log count) time, O(count) memory. Pure.
public enum SortedPage {
  /// The first `count` of `matches` ordered by (`key`, doc) strictly after `after` (nil: from the
  /// start), with their keys.
  public static func page(_ matches: RoaringBitmap, key: (UInt32) -> Double, after: (key: Double, doc: UInt32)?,
                          count: Int) -> [(doc: UInt32, key: Double)] {
    guard count > 0 else { return [] }
    // A max-heap of the best `count` so far: the root is the one that would leave first.
    var heap: [(doc: UInt32, key: Double)] = []
    heap.reserveCapacity(count)
    @inline(__always) func before(_ a: (doc: UInt32, key: Double), _ b: (doc: UInt32, key: Double)) -> Bool {
      a.key != b.key ? a.key < b.key : a.doc < b.doc
    }
    matches.forEach { doc in
      let entry = (doc: doc, key: key(doc))
      if let after, !before((after.doc, after.key), entry) { return }
      if heap.count < count {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
          let parent = (child - 1) / 2
          guard before(heap[parent], heap[child]) else { break }
          heap.swapAt(parent, child)
          child = parent
        }
      } else if before(entry, heap[0]) {
        heap[0] = entry
        var parent = 0
        while true {
          let l = 2 * parent + 1, r = l + 1
          var largest = parent
          if l < heap.count, before(heap[largest], heap[l]) { largest = l }
          if r < heap.count, before(heap[largest], heap[r]) { largest = r }
          if largest == parent { break }
          heap.swapAt(parent, largest)
          parent = largest
        }
      }
    }
    return heap.sorted(by: before)
  }
}
