import CompressNIO
import GRPCCore
import NIOCore
import Testing

@testable import GRPCWire

/// gzip and deflate messages, and the bound on what a message may inflate to.
@Suite struct WireMessageEncodingTests {
  @Test(arguments: [WireMessageEncoding.gzip, .deflate])
  func roundTrips(encoding: WireMessageEncoding) throws {
    let message = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 % 17) }
    let compressed = try #require(encoding.compress(message))
    #expect(compressed.readableBytes < message.count)
    let inflated = try encoding.decompress(compressed, maxBytes: 5_000)
    #expect(Array(inflated.readableBytesView) == message)
    // Small messages are not worth compressing.
    #expect(encoding.compress([1, 2, 3]) == nil)
    #expect(WireMessageEncoding.identity.compress(message) == nil)
  }

  /// 16 MiB of zeros compress to ~16 KiB: inflating stops at the limit with RESOURCE_EXHAUSTED.
  @Test func zipBombsAreRefused() throws {
    let bomb = try ByteBuffer(repeating: 0, count: 16 << 20).compressed()
    #expect(bomb.readableBytes < 50_000)
    let error = #expect(throws: RPCError.self) { try WireMessageEncoding.gzip.decompress(bomb, maxBytes: 4 << 20) }
    #expect(error?.code == .resourceExhausted)
    let small = try ByteBuffer(repeating: 7, count: 4096).compressed()
    let exact = try WireMessageEncoding.gzip.decompress(small, maxBytes: 4096)
    #expect(exact.readableBytes == 4096)
    let larger = try ByteBuffer(repeating: 7, count: 4097).compressed()
    let over = #expect(throws: RPCError.self) { try WireMessageEncoding.gzip.decompress(larger, maxBytes: 4096) }
    #expect(over?.code == .resourceExhausted)
  }

  @Test func corruptDataIsInternal() {
    let error = #expect(throws: RPCError.self) {
      try WireMessageEncoding.deflate.decompress(ByteBuffer(bytes: [1, 2, 3, 4, 5, 6]), maxBytes: 100)
    }
    #expect(error?.code == .internalError)
  }

  @Test func negotiation() {
    #expect(WireMessageEncoding(header: nil) == .identity)
    #expect(WireMessageEncoding(header: "GZIP") == .gzip)
    #expect(WireMessageEncoding(header: "br") == nil)
    #expect(WireMessageEncoding.response(request: .gzip, accepts: "identity, deflate, gzip") == .gzip)
    #expect(WireMessageEncoding.response(request: .gzip, accepts: "identity") == .identity)
    #expect(WireMessageEncoding.response(request: .identity, accepts: "gzip") == .identity)
    #expect(WireMessageEncoding.response(request: .deflate, accepts: nil) == .identity)
  }
}

extension ByteBuffer {
  fileprivate func compressed() throws -> ByteBuffer {
    var copy = self
    return try copy.compress(with: .gzip())
  }
}
