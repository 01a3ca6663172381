import FunnelCore
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
    var out: [GRPCMessage] = []
    var start = 0
    while start < bytes.count {
      let end = min(bytes.count, start + chunk)
      try deframer.append(ByteBuffer(bytes: bytes[start..<end]), into: &out)
      start = end
    }
    #expect(out.map { Array($0.bytes.readableBytesView) } == messages)
    #expect(!deframer.hasPartialMessage)
  }

  @Test func aPartialMessageIsHeldUntilItCompletes() throws {
    var deframer = GRPCMessageDeframer(maxMessageBytes: 100)
    var out: [GRPCMessage] = []
    let bytes = framed([[1, 2, 3, 4]])
    try deframer.append(ByteBuffer(bytes: bytes.prefix(6)), into: &out)
    #expect(out.isEmpty)
    #expect(deframer.hasPartialMessage)
    try deframer.append(ByteBuffer(bytes: bytes.dropFirst(6)), into: &out)
    #expect(out.map { Array($0.bytes.readableBytesView) } == [[1, 2, 3, 4]])
  }

  @Test func refusesOversizedAndCompressedMessages() throws {
    var deframer = GRPCMessageDeframer(maxMessageBytes: 10)
    var out: [GRPCMessage] = []
    let big = framed([Array(repeating: 1, count: 11)])
    let tooLarge = #expect(throws: RPCError.self) { try deframer.append(ByteBuffer(bytes: big.prefix(5)), into: &out) }
    #expect(tooLarge?.code == .resourceExhausted)
    // A compressed message on an identity call, and an unknown flag: INTERNAL (the gRPC spec's code).
    var identity = GRPCMessageDeframer(maxMessageBytes: 10)
    let unsupported = #expect(throws: RPCError.self) { try identity.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 7]), into: &out) }
    #expect(unsupported?.code == .internalError)
    var gzip = GRPCMessageDeframer(maxMessageBytes: 10, compressionAllowed: true)
    try gzip.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 7]), into: &out)
    #expect(out.last?.compressed == true)
    let badFlag = #expect(throws: RPCError.self) { try gzip.append(ByteBuffer(bytes: [2, 0, 0, 0, 1, 7]), into: &out) }
    #expect(badFlag?.code == .internalError)
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
                    ("-1S", nil), ("+5S", nil), (" 5S", nil), ("5s", nil), ("99999999H", .seconds(359_999_996_400)),
                    ("2562048H", .seconds(9_223_372_800)), ("00000001n", .nanoseconds(1))])
  func parsesTimeouts(text: String, expected: Duration?) {
    #expect(GRPCTimeout.parse(text) == expected, "\(text)")
  }

  /// The regression of a timeout that crashed the server: 2562048 hours is more nanoseconds than an
  /// Int64 holds. Parsing clamps to the server's maximum, and the conversion to nanoseconds saturates.
  @Test func hugeTimeoutsAreClampedNotTrapped() {
    #expect(GRPCTimeout.parse("2562048H", maximum: .seconds(86_400)) == .seconds(86_400))
    #expect(GRPCTimeout.parse("99999999H", maximum: .seconds(60)) == .seconds(60))
    #expect(GRPCTimeout.parse("5S", maximum: .seconds(60)) == .seconds(5))
    #expect(GRPCTimeout.nanoseconds(.seconds(9_223_372_800)) == .max)
    #expect(GRPCTimeout.nanoseconds(.seconds(Int64.max)) == .max)
    #expect(GRPCTimeout.nanoseconds(.seconds(-3)) == 0)
    #expect(GRPCTimeout.nanoseconds(.milliseconds(1_500)) == 1_500_000_000)
  }

  /// A seeded property test over the parsers a client feeds: random headers and random frames split
  /// at random never trap; a parsed timeout is within range; the deframer either yields messages
  /// whose sizes sum to what was framed, or throws an `RPCError`.
  @Test(arguments: [1, 2, 3, 4])
  func randomInputNeverTraps(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let alphabet = Array("0123456789HMSmun+- xé".unicodeScalars)
    for _ in 0..<20_000 {
      let text = String(String.UnicodeScalarView((0..<Int.random(in: 0...11, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
      if let timeout = GRPCTimeout.parse(text, maximum: .seconds(86_400)) {
        #expect(timeout >= .zero && timeout <= .seconds(86_400))
        _ = GRPCTimeout.nanoseconds(GRPCTimeout.parse(text)!)
      }
    }
    for _ in 0..<2_000 {
      var bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if Bool.random(using: &rng) { bytes.replaceSubrange(0..<min(5, bytes.count), with: [UInt8.random(in: 0...2, using: &rng), 0, 0, 0, 9]) }
      var deframer = GRPCMessageDeframer(maxMessageBytes: 32, compressionAllowed: Bool.random(using: &rng))
      var out: [GRPCMessage] = []
      var start = 0
      do {
        while start < bytes.count {
          let end = min(bytes.count, start + Int.random(in: 1...9, using: &rng))
          try deframer.append(ByteBuffer(bytes: bytes[start..<end]), into: &out)
          start = end
        }
        #expect(out.reduce(0) { $0 + 5 + $1.bytes.readableBytes } + deframer.pendingBytes == bytes.count)
      } catch {
        #expect([.resourceExhausted, .internalError].contains(error.code))
      }
    }
  }
}
