import GRPCCore
import NIOCore

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
