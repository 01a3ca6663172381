import Foundation
import FunnelCore
import MappedStorage
import Testing

@Suite struct ByteRegionTests {
  private func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "funnel-mapped-\(UUID().uuidString)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func readsLittleEndianIntegersInBounds() throws {
    let path = try temporaryFile([0x01, 0x00, 0x00, 0x00, 0xFF, 0xEE])
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try ByteRegion(mapping: path)
    #expect(file.count == 6)
    #expect(try file.readInteger(at: 0, as: UInt32.self) == 1)
    #expect(try file.readInteger(at: 4, as: UInt16.self) == 0xEEFF)
  }

  @Test(arguments: [(5, 2), (-1, 1), (0, 7), (6, 1), (Int.max, 2)])
  func rejectsRangesOutsideTheFile(offset: Int, length: Int) throws {
    let path = try temporaryFile([1, 2, 3, 4, 5, 6])
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try ByteRegion(mapping: path)
    let error = #expect(throws: FunnelError.self) { try file.withBytes(offset: offset, length: length) { $0.count } }
    #expect(error?.message.contains(path) == true)
  }

  @Test func missingFileIsNotFound() {
    let error = #expect(throws: FunnelError.self) { try ByteRegion(mapping: "/nonexistent/funnel/file") }
    #expect(error?.kind == .notFound)
  }

  @Test func emptyFileMapsToNoBytes() throws {
    let path = try temporaryFile([])
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try ByteRegion(mapping: path)
    #expect(try file.withBytes(offset: 0, length: 0) { $0.count } == 0)
  }

  /// Dropping pages never changes what is read: the bytes come back from the file.
  @Test func droppedPagesReadTheSameBytes() throws {
    let bytes = (0..<(5 * ByteRegion.pageSize + 123)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let path = try temporaryFile(bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try ByteRegion(mapping: path)
    #expect(try file.withBytes(offset: 0, length: bytes.count) { Array($0) } == bytes)
    let resident = Self.residentKiB(of: path)
    file.dropPages(offset: 0, length: 3 * ByteRegion.pageSize + 7)
    file.dropPages(offset: 100, length: bytes.count * 2)  // outside: ignored
    #if os(Linux)
    // The three whole pages left this process's resident set (the kernel's count for the mapping).
    #expect(resident - Self.residentKiB(of: path) >= 3 * ByteRegion.pageSize / 1024, "\(resident) KiB before")
    #endif
    #expect(try file.withBytes(offset: 0, length: bytes.count) { Array($0) } == bytes)
  }

  /// The resident KiB of this process's mapping of `path` (`/proc/self/smaps`), 0 when none.
  static func residentKiB(of path: String) -> Int {
    // Read to the end: /proc files report a size of 0.
    guard let data = FileHandle(forReadingAtPath: "/proc/self/smaps")?.readDataToEndOfFile() else { return 0 }
    let smaps = String(decoding: data, as: UTF8.self)
    var inMapping = false
    for line in smaps.split(separator: "\n") {
      if line.first?.isHexDigit == true && line.contains("-") { inMapping = line.hasSuffix(path) }
      if inMapping, line.hasPrefix("Rss:") { return Int(line.split(separator: " ")[1]) ?? 0 }
    }
    return 0
  }

  /// A spool gives back what was appended, in order, across chunk boundaries.
  @Test func spoolReadsBackItsBytesInOrder() throws {
    let spool = try #require(SpoolFile())
    var expected: [UInt8] = []
    for n in 0..<500 {
      let piece = (0..<(n % 37)).map { UInt8(truncatingIfNeeded: n &+ $0) }
      piece.withUnsafeBytes { spool.append($0) }
      expected += piece
      spool.append(UInt64(n).littleEndian)
      withUnsafeBytes(of: UInt64(n).littleEndian) { expected += $0 }
    }
    #expect(spool.count == expected.count)
    var read: [UInt8] = []
    var chunks = 0
    try spool.forEachChunk(1_000) { read += $0; chunks += 1 }
    #expect(read == expected && chunks == (expected.count + 999) / 1_000)
    #expect(SpoolFile(directory: "/nonexistent-\(UUID().uuidString)") == nil, "no directory: the caller keeps bytes in memory")
  }
}
