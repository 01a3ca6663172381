import CompressNIO
import GRPCCore
import NIOCore

/// A gRPC message encoding (the `grpc-encoding` header): identity, gzip, or deflate — which in gRPC
/// means zlib's format (RFC 1950), not raw deflate. Compression is compress-nio's zlib binding.
///
/// Inflating is bounded: a message may inflate to at most the server's `maxMessageBytes`, so a
/// small "zip bomb" costs at most that much memory and CPU before it is refused.
public enum WireMessageEncoding: String, Sendable, CaseIterable {
  case identity
  case gzip
  case deflate

  /// What the server accepts, for `grpc-accept-encoding`.
  public static let accepted = "identity,deflate,gzip"

  /// The encoding a `grpc-encoding` header names; nil for one this server does not offer.
  public init?(header: String?) {
    guard let header else {
      self = .identity
      return
    }
    self.init(rawValue: header.lowercased())
  }

  /// The encoding to answer in, given the request's `grpc-encoding` and `grpc-accept-encoding`:
  /// the request's own (the client evidently has it), if it is one the client accepts; otherwise identity.
  static func response(request: WireMessageEncoding, accepts header: String?) -> WireMessageEncoding {
    guard request != .identity, let header else { return .identity }
    let names = header.split(separator: ",").map { $0.filter { $0 != " " && $0 != "\t" }.lowercased() }
    return names.contains(request.rawValue) ? request : .identity
  }

  /// Messages smaller than this are sent uncompressed even when the call is compressed (the
  /// per-message flag allows it): zlib's header and CPU outweigh what it saves on them.
  static let minimumCompressedBytes = 1_024

  private var algorithm: CompressNIO.CompressionAlgorithm? {
    switch self {
    case .identity: nil
    case .gzip: .gzip()
    case .deflate: .zlib()
    }
  }

  /// `message` inflated; throws RESOURCE_EXHAUSTED when it would exceed `maxBytes` and INTERNAL
  /// when it is not valid data of this encoding (the gRPC spec's codes). CPU and memory O(maxBytes).
  func decompress(_ message: ByteBuffer, maxBytes: Int) throws(RPCError) -> ByteBuffer {
    guard let algorithm else {
      throw RPCError(code: .internalError, message: "a message is flagged compressed but the call's grpc-encoding is identity")
    }
    var input = message
    let inflated: ByteBuffer
    do {
      inflated = try input.decompress(with: algorithm, maxSize: maxBytes + 1)
    } catch let error as CompressNIOError where error == .bufferOverflow {
      throw RPCError(code: .resourceExhausted,
                     message: "a \(rawValue) message inflates to more than the limit of \(maxBytes) bytes")
    } catch {
      throw RPCError(code: .internalError, message: "a \(rawValue) message is not valid \(rawValue) data (\(error))")
    }
    guard inflated.readableBytes <= maxBytes else {
      throw RPCError(code: .resourceExhausted,
                     message: "a \(rawValue) message inflates to more than the limit of \(maxBytes) bytes")
    }
    return inflated
  }

  /// `message` compressed, or nil when this is identity or the message is too small to be worth it.
  func compress(_ message: [UInt8]) -> ByteBuffer? {
    guard let algorithm, message.count >= Self.minimumCompressedBytes else { return nil }
    var input = ByteBuffer(bytes: message)
    return try? input.compress(with: algorithm)
  }
}
