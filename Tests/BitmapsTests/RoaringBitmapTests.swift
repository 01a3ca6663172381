import Bitmaps
import Testing

@Suite struct RoaringBitmapTests {
  @Test func setOperationsMatchSwiftSets() {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<20 {
      let a = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt32.random(in: 0..<200_000, using: &rng) }
      let b = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt32.random(in: 0..<200_000, using: &rng) }
      let ra = RoaringBitmap(a), rb = RoaringBitmap(b)
      let sa = Set(a), sb = Set(b)
      #expect(ra.count == sa.count)
      #expect(ra.intersection(rb).values == sa.intersection(sb).sorted())
      #expect(ra.union(rb).values == sa.union(sb).sorted())
      #expect(ra.subtracting(rb).values == sa.subtracting(sb).sorted())
      if let x = a.first { #expect(ra.contains(x)) }
    }
  }

  @Test func portableRoundTripAndGarbage() throws {
    let bitmap = RoaringBitmap(range: 10..<70_000)
    bitmap.add(1_000_000)
    bitmap.optimise()
    let copy = try #require(RoaringBitmap.fromPortable(bitmap.portableBytes))
    #expect(copy == bitmap)
    #expect(RoaringBitmap.fromPortable([1, 2, 3]) == nil)
    #expect(RoaringBitmap.fromPortable([]) == nil)
  }

  @Test func frozenViewReadsInPlace() throws {
    let bitmap = RoaringBitmap([1, 5, 70_000, 4_000_000])
    let frozen = bitmap.frozenBytes
    final class Box { let p: UnsafeMutableRawPointer; init(_ n: Int) { p = .allocate(byteCount: n, alignment: 32) }; deinit { p.deallocate() } }
    let box = Box(frozen.count)
    frozen.withUnsafeBytes { box.p.copyMemory(from: $0.baseAddress!, byteCount: frozen.count) }
    let view = try #require(RoaringBitmap.frozenView(UnsafeRawPointer(box.p), count: frozen.count, owner: box))
    #expect(view.values == [1, 5, 70_000, 4_000_000])
    #expect(RoaringBitmap.frozenView(UnsafeRawPointer(box.p) + 1, count: frozen.count - 1, owner: box) == nil, "misaligned")
  }
}
