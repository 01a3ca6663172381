import Foundation
import FunnelCore
import IndexFormat
import MappedStorage
import Testing

@Suite struct FileFooterTests {
  @Test func crc32cMatchesTheStandardCheckValue() {
    // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    let whole = CRC32C.checksum(Array("hello world".utf8))
    let pieces = CRC32C.checksum(Array(" world".utf8), seed: CRC32C.checksum(Array("hello".utf8)))
    #expect(whole == pieces)
  }

  @Test func eightBytesAStepAndTheCPUsInstructionAgreeWithOneByteAStep() {
    // The raw-buffer paths read eight bytes per step (tables, or the CPU's instruction, at any
    // alignment); the generic one (over a lazy sequence) one.
    print("CRC-32C instruction on this CPU: \(CRC32C.hardware)")
    var rng = SplitMix64(seed: 5)
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1_000, 4_099] {
      let bytes = (0..<(n + 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      let seed = UInt32(truncatingIfNeeded: rng.next())
      for offset in 0..<3 {
        let slice = Array(bytes[offset..<(offset + n)])
        let expected = CRC32C.checksum(slice.lazy.map { $0 }, seed: seed)
        bytes.withUnsafeBytes { all in
          let raw = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)])
          #expect(CRC32C.checksum(raw, seed: seed, hardware: false) == expected, "\(n) bytes at \(offset), tables")
          #expect(CRC32C.checksum(raw, seed: seed) == expected, "\(n) bytes at \(offset), default path")
        }
      }
    }
  }

  private func write(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "funnel-footer-\(UUID().uuidString)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func roundTripsAndValidates() throws {
    let payload = Array("postings".utf8)
    let footer = FileFooter(kind: "POST", formatVersion: 1, payload: payload)
    let path = try write(payload + footer.encoded)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let read = try FileFooter.validate(try ByteRegion(mapping: path), kind: "POST", supportedVersions: 1...1)
    #expect(read == footer)
  }

  /// Each corruption must be refused with a message naming the file and the problem.
  @Test(arguments: [
    ("flipped payload byte", "checksum mismatch"),
    ("truncated", "no Funnel footer"),
    ("other kind", "expected 'POST'"),
    ("future version", "format version 9"),
    ("tiny", "too short"),
  ])
  func refusesCorruptFiles(corruption: String, expected: String) throws {
    let payload = Array(repeating: UInt8(7), count: 100)
    var bytes = payload + FileFooter(kind: "POST", formatVersion: 1, payload: payload).encoded
    switch corruption {
    case "flipped payload byte": bytes[10] ^= 0xFF
    case "truncated": bytes.removeLast(5)
    case "other kind": bytes = payload + FileFooter(kind: "TERM", formatVersion: 1, payload: payload).encoded
    case "future version": bytes = payload + FileFooter(kind: "POST", formatVersion: 9, payload: payload).encoded
    default: bytes = [1, 2, 3]
    }
    let path = try write(bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let error = #expect(throws: FunnelError.self) {
      try FileFooter.validate(try ByteRegion(mapping: path), kind: "POST", supportedVersions: 1...2)
    }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(path) == true)
  }
}
