import GRPCCore
import NIOCore

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
