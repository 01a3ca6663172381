import GRPCCore
import NIOCore

/// One gRPC message as received: its bytes (without the 5-byte prefix) and whether its prefix
/// flagged it compressed with the call's `grpc-encoding`.
struct GRPCMessage: Sendable {
  var bytes: ByteBuffer
  var compressed: Bool
}

/// gRPC's length-prefixed messages (a 1-byte compressed flag, a 4-byte big-endian length, the
/// message) reassembled from a stream's DATA frames, which split and join messages arbitrarily.
///
/// Holds at most one partial message (bounded by `maxMessageBytes`; `heldCapacity` is the memory it
/// takes, which budgets count); whole messages are slices of the received buffers, not copies.
/// Not thread-safe: owned by one stream on its connection's loop.
struct GRPCMessageDeframer {
  /// The largest message accepted, in bytes (without the 5-byte prefix).
  let maxMessageBytes: Int
  /// Whether the call's encoding allows compressed messages (it is not identity).
  let compressionAllowed: Bool
  private var pending: ByteBuffer?

  /// A deframer refusing messages over `maxMessageBytes`, and compressed ones unless `compressionAllowed`.
  init(maxMessageBytes: Int, compressionAllowed: Bool = false) {
    self.maxMessageBytes = maxMessageBytes
    self.compressionAllowed = compressionAllowed
  }

  /// True while bytes of an incomplete message are held.
  var hasPartialMessage: Bool { pendingBytes > 0 }

  /// Bytes of the incomplete message held.
  var pendingBytes: Int { pending?.readableBytes ?? 0 }

  /// Memory the incomplete message takes (its buffer's capacity: a growing buffer has up to twice
  /// its bytes), what the connection's and the server's byte budgets count.
  var heldCapacity: Int { pending.map { max($0.capacity, $0.readableBytes) } ?? 0 }

  /// Appends `bytes` and moves every message now complete into `messages`, in order. O(bytes).
  /// Throws RESOURCE_EXHAUSTED for a message over the limit, INTERNAL for a compressed message on
  /// an identity call or an unknown flag (the gRPC spec's codes).
  mutating func append(_ bytes: ByteBuffer, into messages: inout [GRPCMessage]) throws(RPCError) {
    if pending == nil || pending!.readableBytes == 0 {
      pending = bytes
    } else {
      var copy = bytes
      pending!.writeBuffer(&copy)
    }
    while var buffer = pending, buffer.readableBytes >= 5 {
      let start = buffer.readerIndex
      let flag = buffer.getInteger(at: start, as: UInt8.self)!
      let length = Int(buffer.getInteger(at: start + 1, as: UInt32.self)!)
      guard flag == 0 || (flag == 1 && compressionAllowed) else {
        throw flag == 1
          ? RPCError(code: .internalError, message: "a message is flagged compressed but the call's grpc-encoding is identity")
          : RPCError(code: .internalError, message: "invalid gRPC message flag \(flag)")
      }
      guard length <= maxMessageBytes else {
        throw RPCError(code: .resourceExhausted,
                       message: "message of \(length) bytes exceeds the limit of \(maxMessageBytes) bytes")
      }
      guard buffer.readableBytes >= 5 + length else { break }
      buffer.moveReaderIndex(forwardBy: 5)
      messages.append(GRPCMessage(bytes: buffer.readSlice(length: length)!, compressed: flag == 1))
      pending = buffer
    }
    if pending?.readableBytes == 0 { pending = nil }
  }
}

/// Writing gRPC's wire forms.
enum GRPCWireFormat {
  /// `message` with gRPC's 5-byte prefix (uncompressed), in one buffer. O(message).
  static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
    var buffer = allocator.buffer(capacity: 5 + message.count)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(message.count))
    buffer.writeBytes(message)
    return buffer
  }

  /// `message` with gRPC's 5-byte prefix, compressed with `encoding` when that is worth it. O(message).
  static func frame(_ message: [UInt8], encoding: WireMessageEncoding, allocator: ByteBufferAllocator) -> ByteBuffer {
    guard var compressed = encoding.compress(message) else { return frame(message, allocator: allocator) }
    var buffer = allocator.buffer(capacity: 5 + compressed.readableBytes)
    buffer.writeInteger(UInt8(1))
    buffer.writeInteger(UInt32(compressed.readableBytes))
    buffer.writeBuffer(&compressed)
    return buffer
  }

  /// `text` percent-encoded for the `grpc-message` trailer: bytes outside printable ASCII and '%'
  /// become `%XX` (the gRPC HTTP/2 protocol's rule), so any UTF-8 message survives HPACK.
  static func percentEncoded(_ text: String) -> String {
    let utf8 = text.utf8
    guard utf8.contains(where: { $0 < 0x20 || $0 > 0x7E || $0 == 0x25 }) else { return text }
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count + 16)
    for byte in utf8 {
      if byte < 0x20 || byte > 0x7E || byte == 0x25 {
        out.append(0x25)
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0xF)])
      } else {
        out.append(byte)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}

extension GRPCWireFormat {
  /// `text` with `%XX` sequences decoded (the `grpc-message` trailer); malformed sequences stay as
  /// they are, and invalid UTF-8 becomes U+FFFD.
  static func percentDecoded(_ text: String) -> String {
    guard text.utf8.contains(0x25) else { return text }
    let bytes = Array(text.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
      if bytes[i] == 0x25, i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
        out.append(high << 4 | low)
        i += 3
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: byte - 0x30
    case 0x41...0x46: byte - 0x41 + 10
    case 0x61...0x66: byte - 0x61 + 10
    default: nil
    }
  }
}

/// The `grpc-timeout` request header: `<1-8 digits><unit>`, unit one of H M S m u n.
///
/// The header comes from the network: eight digits of hours (`99999999H`) is legal and is more
/// nanoseconds than an `Int64` holds, so every conversion here is checked or clamped, never trapping.
public enum GRPCTimeout {
  /// The duration `text` names, or nil when it is malformed (not 1-8 ASCII digits and a unit).
  /// Never traps: the largest legal value, 99,999,999 hours, fits a `Duration`.
  public static func parse(_ text: some StringProtocol) -> Duration? {
    let utf8 = Array(text.utf8)
    guard (2...9).contains(utf8.count), let unit = utf8.last else { return nil }
    var amount: Int64 = 0
    for byte in utf8.dropLast() {
      guard (0x30...0x39).contains(byte) else { return nil }
      amount = amount * 10 + Int64(byte - 0x30)  // at most 8 digits: no overflow
    }
    switch unit {
    case UInt8(ascii: "H"): return .seconds(amount * 3_600)
    case UInt8(ascii: "M"): return .seconds(amount * 60)
    case UInt8(ascii: "S"): return .seconds(amount)
    case UInt8(ascii: "m"): return .milliseconds(amount)
    case UInt8(ascii: "u"): return .microseconds(amount)
    case UInt8(ascii: "n"): return .nanoseconds(amount)
    default: return nil
    }
  }

  /// The timeout `text` names, clamped to `maximum` (a timeout above the server's maximum is the
  /// maximum); nil when malformed.
  public static func parse(_ text: some StringProtocol, maximum: Duration) -> Duration? {
    parse(text).map { min($0, maximum) }
  }

  /// `duration` in whole nanoseconds, saturating at `Int64.max` (about 292 years) instead of
  /// trapping; negative durations are 0.
  public static func nanoseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0 else { return 0 }
    let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    guard !overflow else { return .max }
    let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
    return overflow2 ? .max : total
  }
}
