import GRPCCore
import NIOCore
import Testing

@testable import GRPCWire

/// gRPC's length-prefixed messages reassembled from arbitrary DATA frame boundaries.
@Suite struct WireFramingTests {
  private func framed(_ messages: [[UInt8]]) -> [UInt8] {
    messages.flatMap { m in [0] + withUnsafeBytes(of: UInt32(m.count).bigEndian, Array.init) + m }
  }

  @Test(arguments: [1, 2, 3, 5, 7, 64])
  func messagesSurviveAnySplit(chunk: Int) throws {
    let messages: [[UInt8]] = [[], [1], Array(0..<200).map(UInt8.init), [9, 9, 9]]
    let bytes = framed(messages)
    var deframer = GRPCMessageDeframer(maxMessageBytes: 1_000)
    var out: [ByteBuffer] = []
    var start = 0
    while start < bytes.count {
      let end = min(bytes.count, start + chunk)
      try deframer.append(ByteBuffer(bytes: bytes[start..<end]), into: &out)
      start = end
    }
    #expect(out.map { Array($0.readableBytesView) } == messages)
    #expect(!deframer.hasPartialMessage)
  }

  @Test func aPartialMessageIsHeldUntilItCompletes() throws {
    var deframer = GRPCMessageDeframer(maxMessageBytes: 100)
    var out: [ByteBuffer] = []
    let bytes = framed([[1, 2, 3, 4]])
    try deframer.append(ByteBuffer(bytes: bytes.prefix(6)), into: &out)
    #expect(out.isEmpty)
    #expect(deframer.hasPartialMessage)
    try deframer.append(ByteBuffer(bytes: bytes.dropFirst(6)), into: &out)
    #expect(out.map { Array($0.readableBytesView) } == [[1, 2, 3, 4]])
  }

  @Test func refusesOversizedAndCompressedMessages() {
    var deframer = GRPCMessageDeframer(maxMessageBytes: 10)
    var out: [ByteBuffer] = []
    let big = framed([Array(repeating: 1, count: 11)])
    let tooLarge = #expect(throws: RPCError.self) { try deframer.append(ByteBuffer(bytes: big.prefix(5)), into: &out) }
    #expect(tooLarge?.code == .resourceExhausted)
    var compressed = GRPCMessageDeframer(maxMessageBytes: 10)
    let unsupported = #expect(throws: RPCError.self) { try compressed.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 7]), into: &out) }
    #expect(unsupported?.code == .unimplemented)
  }

  @Test func statusMessagesArePercentEncoded() {
    #expect(GRPCWireFormat.percentEncoded("plain text") == "plain text")
    #expect(GRPCWireFormat.percentEncoded("50% off\n") == "50%25 off%0A")
    #expect(GRPCWireFormat.percentEncoded("é") == "%C3%A9")
    for text in ["plain", "50% off\n", "é ü 100%", "%", "%%41", "tab\there"] {
      #expect(GRPCWireFormat.percentDecoded(GRPCWireFormat.percentEncoded(text)) == text)
    }
    #expect(GRPCWireFormat.percentDecoded("%4") == "%4")
    #expect(GRPCWireFormat.percentDecoded("%zz%41") == "%zzA")
  }

  @Test(arguments: [("250m", Duration.milliseconds(250)), ("2S", .seconds(2)), ("1M", .seconds(60)), ("3H", .seconds(10_800)),
                    ("7u", .microseconds(7)), ("9n", .nanoseconds(9)), ("x", nil), ("", nil), ("5", nil), ("123456789S", nil),
                    ("-1S", nil)])
  func parsesTimeouts(text: String, expected: Duration?) {
    #expect(GRPCTimeout.parse(text) == expected, "\(text)")
  }
}
