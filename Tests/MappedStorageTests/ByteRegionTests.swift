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
}
