/// Best-first ordering of (score, document) pairs by sorting plain 64-bit keys: the high half is
/// the score's order-preserving bit pattern, inverted so that a higher score sorts first, the low
/// half the document (lower first on equal scores). The keys are sorted in place (`sort`): the
/// standard library's merge sort with the closure comparators this replaces
/// (`$0.1 != $1.1 ? $0.1 > $1.1 : doc < doc`) made ordering candidates a tenth of a request's
/// instructions, and with `<` on `UInt64` still most of that.
///
/// Equal scores compare equal whatever their zero's sign (-0 and +0 are one score); NaN sorts after
/// every number. Pure functions; thread-safe.
public enum ScoreOrder {
  /// The key of (`score`, `doc`): ascending keys are descending scores, then ascending documents. O(1).
  @inlinable @inline(__always)
  public static func key(score: Float, doc: UInt32) -> UInt64 {
    UInt64(~ordered(score)) << 32 | UInt64(doc)
  }

  /// The score's bits as an unsigned number in the float's order (NaN above every number).
  @inlinable @inline(__always)
  public static func ordered(_ score: Float) -> UInt32 {
    guard !score.isNaN else { return 0 }
    let bits = (score == 0 ? Float(0) : score).bitPattern
    // Negative floats order backwards by their bits: flip them all; positive ones gain the top bit.
    return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
  }

  /// The score a key was made from (a -0 comes back as 0; NaN as NaN).
  @inlinable @inline(__always)
  public static func score(_ key: UInt64) -> Float {
    let ordered = ~UInt32(truncatingIfNeeded: key >> 32)
    guard ordered != 0 else { return .nan }
    return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
  }

  /// `pairs` best first: higher score, then lower document. O(n log n), one key array.
  public static func descending(_ pairs: [(DocID, Float)]) -> [(DocID, Float)] {
    var keys = pairs.map { key(score: $0.1, doc: $0.0.rawValue) }
    sort(&keys)
    return keys.map { (DocID(rawValue: UInt32(truncatingIfNeeded: $0)), score($0)) }
  }

  /// Indices of `scores` best first; equal scores by `doc(index)`, lower first (the documents of
  /// equal scores must differ for the order to be total). O(n log n); the ties' order is fixed by
  /// sorting each run of equal scores, which is short.
  public static func descendingIndices(_ scores: [Float], doc: (Int) -> UInt32) -> [(Int, Float)] {
    // Indices in the low half first (scores never exceed 2^32 entries); then ties by document.
    var keys = scores.enumerated().map { key(score: $0.element, doc: UInt32(truncatingIfNeeded: $0.offset)) }
    sort(&keys)
    var start = 0
    while start < keys.count {
      var end = start + 1
      while end < keys.count, keys[end] >> 32 == keys[start] >> 32 { end += 1 }
      if end - start > 1 {
        keys[start..<end].sort { doc(Int(UInt32(truncatingIfNeeded: $0))) < doc(Int(UInt32(truncatingIfNeeded: $1))) }
      }
      start = end
    }
    return keys.map { (Int(UInt32(truncatingIfNeeded: $0)), scores[Int(UInt32(truncatingIfNeeded: $0))]) }
  }

  /// The best `k` of the (score, document) keys in `keys`, best first, as pairs: the `k` smallest
  /// selected, sorted, decoded. Reorders `keys`. O(n + k log k) expected; keys must differ.
  public static func best(_ k: Int, of keys: UnsafeMutableBufferPointer<UInt64>) -> [(DocID, Float)] {
    let k = min(max(k, 0), keys.count)
    selectSmallest(k, in: keys)
    let top = UnsafeMutableBufferPointer(rebasing: keys[..<k])
    sort(top)
    return top.map { (DocID(rawValue: UInt32(truncatingIfNeeded: $0)), score($0)) }
  }

  /// Moves the `k` smallest keys of `keys` to its front, the `k`-th smallest at `k - 1`, the rest
  /// after, neither part in order: quickselect, O(n) expected, and a full sort of what remains should
  /// pivots keep splitting badly (O(n log n) at worst). Keys must differ.
  public static func selectSmallest(_ k: Int, in keys: UnsafeMutableBufferPointer<UInt64>) {
    guard k > 0, k < keys.count else { return }
    var range = 0..<keys.count
    var budget = 4 * keys.count + 64
    while range.count > 1 {
      if budget < range.count {
        sort(UnsafeMutableBufferPointer(rebasing: keys[range]))
        return
      }
      budget -= range.count
      let pivot = partition(keys, range)
      if pivot == k - 1 { return }
      range = pivot < k - 1 ? (pivot + 1)..<range.upperBound : range.lowerBound..<pivot
    }
  }

  /// Partitions `range` of `k` (not empty) around the median of its first, middle and last keys;
  /// returns where the pivot ends, every key before it smaller and every key after it larger.
  @inline(__always)
  static func partition(_ k: UnsafeMutableBufferPointer<UInt64>, _ range: Range<Int>) -> Int {
    let (low, last) = (range.lowerBound, range.upperBound &- 1)
    guard low < last else { return low }
    let mid = low &+ (last &- low) / 2
    // The median of the three to `last` (the smallest to `low`).
    if k[mid] < k[low] { k.swapAt(mid, low) }
    if k[last] < k[low] { k.swapAt(last, low) }
    if k[mid] < k[last] { k.swapAt(mid, last) }
    let pivot = k[last]
    var store = low
    var i = low
    while i < last {
      let key = k[i]
      if key < pivot {
        k[i] = k[store]
        k[store] = key
        store &+= 1
      }
      i &+= 1
    }
    k[last] = k[store]
    k[store] = pivot
    return store
  }

  /// Sorts `keys` ascending in place: a quicksort (median of three, the smaller side first, so the
  /// stack stays O(log n)) that leaves runs of up to 16 keys to one final insertion sort. No
  /// allocation; O(n log n) expected. The standard library's stable merge sort spends several
  /// times as many instructions on the same keys (stability is useless for distinct keys).
  public static func sort(_ keys: inout [UInt64]) {
    keys.withUnsafeMutableBufferPointer { sort($0) }
  }

  /// Sorts the keys of `k` ascending in place, as `sort(_:)` does an array.
  public static func sort(_ k: UnsafeMutableBufferPointer<UInt64>) {
    guard let base = k.baseAddress, k.count > 1 else { return }
    // Pending ranges [low, high], two words each, on the stack: the larger side waits while the
    // smaller is split, so at most log2(n) ranges wait (64 fit).
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 128) { pending in
      var depth = 0
      var (low, high) = (0, k.count - 1)
      while true {
        if high - low > 16 {
          let mid = low + (high - low) / 2
          if base[mid] < base[low] { k.swapAt(mid, low) }
          if base[high] < base[low] { k.swapAt(high, low) }
          if base[high] < base[mid] { k.swapAt(high, mid) }
          let pivot = base[mid]
          var (i, j) = (low, high)
          while i <= j {
            while base[i] < pivot { i += 1 }
            while pivot < base[j] { j -= 1 }
            if i <= j {
              k.swapAt(i, j)
              i += 1
              j -= 1
            }
          }
          // [low, j] and [i, high] remain: continue with the smaller, keep the larger.
          if j - low < high - i {
            pending[2 * depth] = i; pending[2 * depth + 1] = high; depth += 1
            high = j
          } else {
            pending[2 * depth] = low; pending[2 * depth + 1] = j; depth += 1
            low = i
          }
          continue
        }
        guard depth > 0 else { break }
        depth -= 1
        (low, high) = (pending[2 * depth], pending[2 * depth + 1])
      }
    }
    // Every key now sits within 16 places of its own: one insertion sort finishes.
    for i in 1..<k.count {
      let moving = base[i]
      var j = i
      while j > 0, base[j - 1] > moving {
        base[j] = base[j - 1]
        j -= 1
      }
      base[j] = moving
    }
  }
}
