import CompressNIO
import Hummingbird
import NIOCore
import Synchronization

/// gzip answers for clients that ask (`Accept-Encoding: gzip`, not `q=0`): bodies of at least
/// `minimumBytes` with a known length are compressed with compress-nio's zlib binding, with
/// `Content-Encoding: gzip` and `Vary: Accept-Encoding`. Smaller ones are not worth the CPU.
struct GzipResponseMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  static let minimumBytes = 1_024

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var response = try await next(request, context)
    guard Self.acceptsGzip(request.headers[.acceptEncoding]), response.headers[.contentEncoding] == nil,
          let length = response.body.contentLength, length >= Self.minimumBytes else { return response }
    let collected = Collected()
    let body = response.body
    try await body.write(Collector(into: collected))
    var plain = collected.buffer.withLock { $0 }
    response.body = ResponseBody(byteBuffer: try plain.compress(with: .gzip()))
    response.headers[.contentEncoding] = "gzip"
    response.headers[.vary] = "Accept-Encoding"
    return response
  }

  /// True when `header` lists gzip (or `*`) without `q=0`.
  static func acceptsGzip(_ header: String?) -> Bool {
    guard let header else { return false }
    return header.split(separator: ",").contains { coding in
      let fields = coding.split(separator: ";").map { $0.filter { $0 != " " }.lowercased() }
      guard fields.first == "gzip" || fields.first == "*" else { return false }
      return !fields.dropFirst().contains { $0.hasPrefix("q=") && Double($0.dropFirst(2)) == 0 }
    }
  }

  /// The bytes a body writes.
  private final class Collected: Sendable {
    let buffer = Mutex(ByteBuffer())
  }

  private struct Collector: ResponseBodyWriter {
    let into: Collected
    mutating func write(_ buffer: ByteBuffer) async throws {
      into.buffer.withLock { _ = $0.writeImmutableBuffer(buffer) }
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
  }
}
