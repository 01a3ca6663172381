import FunnelGRPC
import GRPCCore
import NIOCore
import SwiftProtobuf
import Testing

/// Requests carrying megabytes of unknown protobuf fields are refused before they are decoded;
/// every field the message defines, of any wire type, passes.
@Suite struct UnknownFieldGuardTests {
  static var full: Funnel_V1_RecommendRequest {
    var request = Funnel_V1_RecommendRequest()
    request.userID = "u"
    request.sessionID = "s"
    request.scene = .cart
    request.count = 7
    request.context = ["a": "b", "c": "d"]
    request.filter = "brand:x"
    request.excludeItemIds = ["1", "2"]
    request.anchorItemIds = ["3"]
    request.debug = true
    return request
  }

  /// A length-delimited field `number` of `size` bytes.
  static func field(_ number: Int, size: Int) -> [UInt8] {
    var out: [UInt8] = []
    for var value in [UInt64(number) << 3 | 2, UInt64(size)] {
      while value >= 0x80 {
        out.append(UInt8(value & 0x7F) | 0x80)
        value >>= 7
      }
      out.append(UInt8(value))
    }
    return out + [UInt8](repeating: 0x61, count: size)
  }

  @Test func everyKnownFieldPasses() throws {
    let bytes: [UInt8] = try Self.full.serializedBytes()
    let decoded = try FunnelWireRoutes.decode(ByteBuffer(bytes: bytes), as: Funnel_V1_RecommendRequest.self)
    #expect(decoded == Self.full)
  }

  @Test func aFewUnknownBytesPassAndAreDropped() throws {
    let bytes: [UInt8] = try Self.full.serializedBytes() + Self.field(99, size: 500)
    let decoded = try FunnelWireRoutes.decode(ByteBuffer(bytes: bytes), as: Funnel_V1_RecommendRequest.self)
    #expect(decoded == Self.full, "the unknown field is discarded, not kept")
  }

  @Test func megabytesOfUnknownFieldsAreRefusedBeforeDecoding() throws {
    let bytes: [UInt8] = try Self.full.serializedBytes() + (0..<300).flatMap { Self.field(20 + $0 % 50, size: 10_000) }
    let clock = ContinuousClock()
    let start = clock.now
    let error = #expect(throws: RPCError.self) {
      try FunnelWireRoutes.decode(ByteBuffer(bytes: bytes), as: Funnel_V1_RecommendRequest.self)
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("fields unknown to funnel.v1.RecommendRequest") == true, "\(error?.message ?? "")")
    #expect(clock.now - start < .seconds(1))
  }

  /// Truncated or malformed input is left to the decoder, which rejects it as INVALID_ARGUMENT.
  @Test func malformedBytesAreTheDecodersToReject() {
    for bytes: [UInt8] in [[0x0A, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x0B]] {
      let error = #expect(throws: RPCError.self) {
        try FunnelWireRoutes.decode(ByteBuffer(bytes: bytes), as: Funnel_V1_RecommendRequest.self)
      }
      #expect(error?.code == .invalidArgument)
    }
  }
}
