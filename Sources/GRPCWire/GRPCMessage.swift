import GRPCCore
import NIOCore

/// One gRPC message as received: its bytes (without the 5-byte prefix) and whether its prefix
/// flagged it compressed with the call's `grpc-encoding`.
struct GRPCMessage: Sendable {
  var bytes: ByteBuffer
  var compressed: Bool
}
