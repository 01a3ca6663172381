import GRPCCore
import GRPCWire
import NIOCore
import SwiftProtobuf

/// Funnel's methods on the lean transport (`WireServer`): each path from the generated method
/// descriptors, decoding requests and encoding responses with SwiftProtobuf and calling the same
/// service code grpc-swift's transport calls.
public enum FunnelWireRoutes {
  /// A router serving Recommender, EventCollector, Admin and Health.
  public static func router(recommender: RecommenderService, events: EventCollectorService, admin: AdminService,
                            health: HealthService) -> WireRouter {
    typealias Rec = Funnel_V1_Recommender.Method
    typealias Adm = Funnel_V1_Admin.Method
    typealias Hea = Grpc_Health_V1_Health.Method
    var router = WireRouter()
    router.register(path(Rec.Recommend.descriptor), unary { (request: Funnel_V1_RecommendRequest, call) in
      try await recommender.recommend(request, deadline: call.deadline)
    })
    router.register(path(Rec.Search.descriptor), unary { (request: Funnel_V1_SearchRequest, call) in
      try await recommender.search(request, deadline: call.deadline)
    })
    router.register(path(Rec.BatchRecommend.descriptor), streaming(Rec.BatchRecommend.descriptor) {
      (requests: RPCAsyncSequence<Funnel_V1_BatchRecommendRequest, any Error>, responses, context) in
      try await recommender.batchRecommend(request: requests, response: responses, context: context)
    })
    router.register(path(Funnel_V1_EventCollector.Method.Track.descriptor),
                    unary(Funnel_V1_EventCollector.Method.Track.descriptor) { (request: Funnel_V1_TrackRequest, context) in
      try await events.track(request: request, context: context)
    })
    router.register(path(Adm.Status.descriptor), unary(Adm.Status.descriptor) { (request: Funnel_V1_StatusRequest, context) in
      try await admin.status(request: request, context: context)
    })
    router.register(path(Adm.Reload.descriptor), unary(Adm.Reload.descriptor) { (request: Funnel_V1_ReloadRequest, context) in
      try await admin.reload(request: request, context: context)
    })
    router.register(path(Adm.ForgetUser.descriptor), unary(Adm.ForgetUser.descriptor) { (request: Funnel_V1_ForgetUserRequest, context) in
      try await admin.forgetUser(request: request, context: context)
    })
    router.register(path(Adm.ExperimentReport.descriptor),
                    unary(Adm.ExperimentReport.descriptor) { (request: Funnel_V1_ExperimentReportRequest, context) in
      try await admin.experimentReport(request: request, context: context)
    })
    // Health checks never wait behind work (admission control exempts them): they are cheap, and a
    // balancer must see a busy replica as alive.
    router.register(path(Hea.Check.descriptor), unary { (request: Grpc_Health_V1_HealthCheckRequest, _) in
      try health.check(request)
    }, admitted: false)
    router.register(path(Hea.Watch.descriptor), streaming(Hea.Watch.descriptor) {
      (requests: RPCAsyncSequence<Grpc_Health_V1_HealthCheckRequest, any Error>, responses, context) in
      var iterator = requests.makeAsyncIterator()
      guard let request = try await iterator.next() else {
        throw RPCError(code: .internalError, message: "Watch takes one request message; got none")
      }
      try await health.watch(request: request, response: responses, context: context)
    }, admitted: false)
    return router
  }

  /// `/package.Service/Method`, the HTTP/2 path of `method` (the lean client calls these too).
  public static func path(_ method: MethodDescriptor) -> String { "/" + method.fullyQualifiedMethod }

  /// A unary method whose handler gets the decoded request and the call.
  static func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ body: @escaping @Sendable (Request, WireCall) async throws -> Response
  ) -> WireMethod {
    .unary { bytes, call in
      let response = try await body(try decode(bytes), call)
      return try response.serializedBytes()
    }
  }

  /// A unary method whose handler takes grpc-swift's `ServerContext` (admin and event methods).
  static func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ method: MethodDescriptor, _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
  ) -> WireMethod {
    unary { (request: Request, call: WireCall) in try await body(request, context(method, call)) }
  }

  /// A streaming method over grpc-swift's stream types, so services keep one implementation.
  static func streaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ method: MethodDescriptor,
    _ body: @escaping @Sendable (RPCAsyncSequence<Request, any Error>, RPCWriter<Response>, ServerContext) async throws -> Void
  ) -> WireMethod {
    .streaming { inbound, writer, call in
      let requests = RPCAsyncSequence<Request, any Error>(wrapping: inbound.map { bytes throws -> Request in try decode(bytes) })
      try await body(requests, RPCWriter(wrapping: ProtobufWriter<Response>(writer: writer)), context(method, call))
    }
  }

  /// A message from its bytes; an `RPCError` with `code` naming the message type when they are not
  /// one (INVALID_ARGUMENT for a request the server got; the lean client uses INTERNAL for a response).
  /// Requests with more than `UnknownFieldGuard.maxUnknownBytes` of unknown top-level fields are
  /// refused before decoding; unknown fields deeper down are skipped, not kept.
  public static func decode<Message: SwiftProtobuf.Message>(_ bytes: ByteBuffer, as: Message.Type = Message.self,
                                                            invalid code: RPCError.Code = .invalidArgument) throws(RPCError) -> Message {
    let kind = code == .invalidArgument ? "request" : "response"
    do {
      return try bytes.withUnsafeReadableBytes { raw in
        if code == .invalidArgument {
          let unknown = UnknownFieldGuard.unknownBytes(raw, as: Message.self)
          guard unknown <= UnknownFieldGuard.maxUnknownBytes else {
            throw RPCError(code: code, message: "request carries \(unknown) bytes of fields unknown to \(Message.protoMessageName) "
              + "(limit \(UnknownFieldGuard.maxUnknownBytes))")
          }
        }
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        return try Message(serializedBytes: Array(raw), options: options)
      }
    } catch let error as RPCError {
      throw error
    } catch {
      throw RPCError(code: code, message: "\(kind) is not a valid \(Message.protoMessageName): \(error)")
    }
  }

  private static func context(_ method: MethodDescriptor, _ call: WireCall) -> ServerContext {
    ServerContext(descriptor: method, remotePeer: call.remotePeer, localPeer: call.localPeer, cancellation: .init())
  }
}

/// grpc-swift's writer protocol over the lean transport's writer, encoding each message.
private struct ProtobufWriter<Message: SwiftProtobuf.Message>: RPCWriterProtocol {
  let writer: WireResponseWriter

  func write(_ element: Message) async throws { try await writer.write(try element.serializedBytes()) }

  func write(contentsOf elements: some Sequence<Message>) async throws {
    for element in elements { try await write(element) }
  }
}
