import GRPCCore
import NIOCore

/// gRPC's length-prefixed messages (a 1-byte compressed flag, a 4-byte big-endian length, the
/// message) reassembled from a stream's DATA frames, which split and join messages arbitrarily.
///
/// Holds at most one partial message (bounded by `maxMessageBytes`); whole messages are slices of
/// the received buffers, not copies. Not thread-safe: owned by one stream on its connection's loop.
struct GRPCMessageDeframer {
  /// The largest message accepted, in bytes (without the 5-byte prefix).
  let maxMessageBytes: Int
  private var pending: ByteBuffer?

  /// A deframer refusing messages over `maxMessageBytes`.
  init(maxMessageBytes: Int) { self.maxMessageBytes = maxMessageBytes }

  /// True while bytes of an incomplete message are held.
  var hasPartialMessage: Bool { pendingBytes > 0 }

  /// Bytes of the incomplete message held.
  var pendingBytes: Int { pending?.readableBytes ?? 0 }

  /// Appends `bytes` and moves every message now complete into `messages`, in order. O(bytes).
  /// Throws RESOURCE_EXHAUSTED for a message over the limit and UNIMPLEMENTED for a compressed one
  /// (this server offers only the identity encoding).
  mutating func append(_ bytes: ByteBuffer, into messages: inout [ByteBuffer]) throws(RPCError) {
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
      guard flag == 0 else {
        throw flag == 1
          ? RPCError(code: .unimplemented, message: "compressed messages are not supported (grpc-accept-encoding: identity)")
          : RPCError(code: .internalError, message: "invalid gRPC message flag \(flag)")
      }
      guard length <= maxMessageBytes else {
        throw RPCError(code: .resourceExhausted,
                       message: "message of \(length) bytes exceeds the limit of \(maxMessageBytes) bytes")
      }
      guard buffer.readableBytes >= 5 + length else { break }
      buffer.moveReaderIndex(forwardBy: 5)
      messages.append(buffer.readSlice(length: length)!)
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
public enum GRPCTimeout {
  /// The duration `text` names, or nil when it is malformed.
  public static func parse(_ text: some StringProtocol) -> Duration? {
    guard let unit = text.last, text.count >= 2, text.count <= 9, let amount = Int64(text.dropLast()), amount >= 0 else {
      return nil
    }
    switch unit {
    case "H": return .seconds(amount * 3_600)
    case "M": return .seconds(amount * 60)
    case "S": return .seconds(amount)
    case "m": return .milliseconds(amount)
    case "u": return .microseconds(amount)
    case "n": return .nanoseconds(amount)
    default: return nil
    }
  }
}
