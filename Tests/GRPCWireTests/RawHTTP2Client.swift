import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization

/// A client that speaks HTTP/2 frames directly (swift-nio-http2's handler, no gRPC library), so a
/// test can send what a careless or hostile client would: any header, any timeout, a shut window,
/// streams it never finishes. Never returns flow-control credit on its own. Frames received are
/// kept in order; `frames(on:)` waits for a stream's.
final class RawHTTP2Client: Sendable {
  let channel: any Channel
  private let received = Mutex<[HTTP2Frame]>([])
  private let closed = Mutex(false)

  private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame
    let client: RawHTTP2Client
    init(_ client: RawHTTP2Client) { self.client = client }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      let frame = unwrapInboundIn(data)
      client.received.withLock { $0.append(frame) }
    }
    func channelInactive(context: ChannelHandlerContext) { client.closed.withLock { $0 = true } }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
  }

  private init(channel: any Channel) { self.channel = channel }

  /// Connects to `port` on loopback with `settings` (e.g. an initial window of 0: a client that reads nothing).
  static func connect(port: Int, group: any EventLoopGroup,
                      settings: HTTP2Settings = [HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 20)]) async throws -> RawHTTP2Client {
    let box = Mutex<RawHTTP2Client?>(nil)
    let channel = try await ClientBootstrap(group: group).channelInitializer { channel in
      channel.eventLoop.makeCompletedFuture {
        let client = RawHTTP2Client(channel: channel)
        box.withLock { $0 = client }
        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, initialSettings: settings))
        try channel.pipeline.syncOperations.addHandler(Collector(client))
      }
    }.connect(host: "127.0.0.1", port: port).get()
    _ = channel
    return box.withLock { $0! }
  }

  /// gRPC request headers for `path`, plus `extra`.
  static func headers(_ path: String, _ extra: [(String, String)] = []) -> HPACKHeaders {
    var headers: HPACKHeaders = [":method": "POST", ":scheme": "http", ":path": path, ":authority": "localhost",
                                 "content-type": "application/grpc", "te": "trailers"]
    for (name, value) in extra { headers.add(name: name, value: value) }
    return headers
  }

  /// Sends a whole unary call on stream `id`: headers, then `message` with gRPC's prefix (flagged
  /// compressed when `compressed`) and END_STREAM.
  func call(_ id: Int, _ headers: HPACKHeaders, message: [UInt8], compressed: Bool = false) async throws {
    var buffer = channel.allocator.buffer(capacity: message.count + 5)
    buffer.writeInteger(UInt8(compressed ? 1 : 0))
    buffer.writeInteger(UInt32(message.count))
    buffer.writeBytes(message)
    // One flush for both frames. The server may answer from the headers alone (a refusal) and
    // reset the stream; the DATA frame's write then fails on our side, which a test ignores.
    let headersWritten = channel.eventLoop.makePromise(of: Void.self)
    let dataWritten = channel.eventLoop.makePromise(of: Void.self)
    channel.write(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: headers))), promise: headersWritten)
    channel.writeAndFlush(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .data(.init(data: .byteBuffer(buffer), endStream: true))),
                          promise: dataWritten)
    try await headersWritten.futureResult.get()
    _ = try? await dataWritten.futureResult.get()
  }

  /// The frames received on stream `id` so far.
  func frames(on id: Int) -> [HTTP2Frame] { received.withLock { $0.filter { $0.streamID == HTTP2StreamID(id) } } }

  /// Every frame received so far.
  var allFrames: [HTTP2Frame] { received.withLock { $0 } }

  var isClosed: Bool { closed.withLock { $0 } }

  /// Waits (up to `limit`) until `condition` holds; returns whether it did.
  func wait(upTo limit: Duration = .seconds(20), until condition: () -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while !condition() {
      if clock.now > end { return false }
      try await Task.sleep(for: .milliseconds(10))
    }
    return true
  }

  /// The stream's `grpc-status`, once its trailers (or trailers-only response) arrived.
  func status(on id: Int) -> String? {
    for frame in frames(on: id) {
      if case .headers(let h) = frame.payload, let status = h.headers.first(name: "grpc-status") { return status }
    }
    return nil
  }

  /// The stream's response messages (gRPC prefix removed), with their compressed flags.
  func messages(on id: Int) -> [(compressed: Bool, bytes: [UInt8])] {
    var data: [UInt8] = []
    for frame in frames(on: id) {
      if case .data(let d) = frame.payload, case .byteBuffer(let b) = d.data { data += b.readableBytesView }
    }
    var out: [(Bool, [UInt8])] = []
    var i = 0
    while i + 5 <= data.count {
      let length = Int(data[i + 1]) << 24 | Int(data[i + 2]) << 16 | Int(data[i + 3]) << 8 | Int(data[i + 4])
      guard i + 5 + length <= data.count else { break }
      out.append((data[i] == 1, Array(data[(i + 5)..<(i + 5 + length)])))
      i += 5 + length
    }
    return out
  }

  /// The response headers of stream `id` (the first HEADERS frame).
  func responseHeaders(on id: Int) -> HPACKHeaders? {
    for frame in frames(on: id) { if case .headers(let h) = frame.payload { return h.headers } }
    return nil
  }

  /// The GOAWAY received, if any: its error code and last stream id.
  var goAway: (code: HTTP2ErrorCode, lastStreamID: HTTP2StreamID)? {
    for frame in allFrames { if case .goAway(let last, let code, _) = frame.payload { return (code, last) } }
    return nil
  }

  func close() async { try? await channel.close() }
}
