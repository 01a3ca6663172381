// What grpc-swift-2's server machinery (GRPCCore: router, per-call executor, request and response
// streams) costs on top of Funnel's lean HTTP/2 transport. Serves the embedded demo shop's Recommender
// and Health on GRPCWire in one of two ways:
//   --mode direct    the generated wire routes calling the services (how `funnel serve` serves)
//   --mode grpccore  GRPCWire adapted as a grpc-swift `ServerTransport` (unary calls), the services
//                    behind `GRPCServer`, as they would be if GRPCWire were a grpc-swift transport
// Run by Benchmarks/h2load/grpccore.sh, which alternates the modes under h2load:
//   swift build -c release --package-path Benchmarks --product funnel-bench-grpccore
//   Benchmarks/.build/release/funnel-bench-grpccore --mode grpccore [--port 50061]
import FunnelGRPC
import FunnelServer
import GRPCCore
import GRPCWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// GRPCWire as a grpc-swift `ServerTransport` for unary calls: each call's request becomes an
/// inbound stream of metadata and one message, the response parts are collected, and the status
/// becomes the wire call's result.
final class WireServerTransport: ServerTransport {
  typealias Bytes = [UInt8]
  typealias Handler = @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
  /// The handler sits in a struct: a closure stored straight in `Mutex<Handler?>` is reabstracted on
  /// every `inout` access of `withLock` and written back wrapped in one more thunk, so each call would
  /// run through a chain of thunks one longer than the last.
  private struct Listener: Sendable { let handle: Handler }
  private let handler = Mutex<Listener?>(nil)
  private let stop = AsyncStream<Void>.makeStream()

  func listen(streamHandler: @escaping Handler) async throws {
    handler.withLock { $0 = Listener(handle: streamHandler) }
    for await _ in stop.stream {}
  }

  func beginGracefulShutdown() { stop.continuation.finish() }

  /// The wire method serving `descriptor` through the GRPCServer's stream handler.
  func unary(_ descriptor: MethodDescriptor) -> WireMethod {
    .unary { [self] bytes, call in
      guard let handle = self.handler.withLock({ $0?.handle }) else { throw RPCError(code: .unavailable, message: "not listening") }
      let parts: [RPCRequestPart<[UInt8]>] = [.metadata(FunnelWireRoutes.metadata(call)), .message(Array(bytes.readableBytesView))]
      let inbound = RPCAsyncSequence<RPCRequestPart<[UInt8]>, any Error>(wrapping: parts.async)
      let collector = ResponseCollector()
      await withServerContextRPCCancellationHandle { cancellation in
        let context = ServerContext(descriptor: descriptor, remotePeer: call.remotePeer, localPeer: call.localPeer,
                                    cancellation: cancellation)
        await handle(RPCStream(descriptor: descriptor, inbound: inbound, outbound: RPCWriter.Closable(wrapping: collector)),
                     context)
      }
      return WireReply(try collector.result())
    }
  }
}

/// The response parts of one unary call.
final class ResponseCollector: ClosableRPCWriterProtocol {
  typealias Element = RPCResponsePart<[UInt8]>
  private let state = Mutex<(message: [UInt8]?, status: Status?)>((nil, nil))

  func write(_ element: Element) async throws {
    state.withLock { s in
      switch element {
      case .metadata: break
      case .message(let bytes): s.message = bytes
      case .status(let status, _): s.status = status
      }
    }
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async {}
  func finish(throwing error: any Error) async {}

  func result() throws -> [UInt8] {
    let (message, status) = state.withLock { $0 }
    guard let status, status.code == .ok, let message else {
      throw RPCError(code: RPCError.Code(status?.code ?? .internalError) ?? .internalError, message: status?.message ?? "no status")
    }
    return message
  }
}

/// An async sequence over an array (one element at a time).
extension Array where Element: Sendable {
  var async: AsyncThrowingStream<Element, any Error> {
    AsyncThrowingStream { continuation in
      for element in self { continuation.yield(element) }
      continuation.finish()
    }
  }
}

func argument(_ name: String, _ fallback: String) -> String {
  let args = CommandLine.arguments
  guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
  return args[i + 1]
}

let mode = argument("--mode", "direct")
let port = Int(argument("--port", "50061")) ?? 50061
let logger = Logger(label: "funnel-bench-grpccore")
let embedded = try EmbeddedDefault(items: 5_000, users: 3_000, seed: 42, configuration: .init())
let recommender = RecommenderService(engine: embedded.engine, logger: logger)
let health = HealthService(state: HealthState())
let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
var router = WireRouter()
var grpcServer: GRPCServer<WireServerTransport>?
switch mode {
case "direct":
  FunnelWireRoutes.register(recommender, on: &router)
  FunnelWireRoutes.register(health, on: &router, admitted: false)
case "grpccore":
  let transport = WireServerTransport()
  for descriptor in [Funnel_V1_Recommender.Method.Recommend.descriptor, Grpc_Health_V1_Health.Method.Check.descriptor] {
    router.register(FunnelWireRoutes.path(descriptor), transport.unary(descriptor),
                    admitted: descriptor != Grpc_Health_V1_Health.Method.Check.descriptor)
  }
  grpcServer = GRPCServer(transport: transport, services: [recommender, health])
default:
  print("usage: funnel-bench-grpccore --mode direct|grpccore [--port N]")
  exit(2)
}
let wire = WireServer(host: "127.0.0.1", port: port, group: group, router: router, executor: nil,
                      configuration: WireServer.Configuration(), logger: logger)
try await withThrowingTaskGroup(of: Void.self) { tasks in
  if let grpcServer { tasks.addTask { try await grpcServer.serve() } }
  tasks.addTask { try await wire.serve() }
  print("funnel-bench-grpccore (\(mode)) listening on 127.0.0.1:\(try await wire.listeningPort())")
  fflush(nil)  // the scripts wait for this line
  try await tasks.next()
}
