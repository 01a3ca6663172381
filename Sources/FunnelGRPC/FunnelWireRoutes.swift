import GRPCCore
import GRPCWire
import NIOCore
import Serving
import SwiftProtobuf

/// Funnel's services on the lean transport (`WireServer`). Each service is implemented once, against
/// its generated grpc-swift `ServiceProtocol`; the per-method registrations are generated from the
/// protos (`Generated/funnel_wire_routes.swift`, by `Scripts/generate-wire-routes.py`), and the four
/// adapters here carry any method of its kind between the wire (bytes, `WireCall`) and grpc-swift's
/// request, response and context types, so both transports call the same code. Each call is a request
/// with a new `RequestID` (BatchRecommend: each row).
public enum FunnelWireRoutes {
  /// A router serving the services given (the public plane: Recommender and EventCollector; the
  /// admin plane: Admin) and Health, each call checked first by `callGuard` when there is one. Health
  /// checks never wait behind work (admission control exempts them): they are cheap, and a balancer
  /// must see a busy replica alive.
  public static func router(recommender: RecommenderService?, events: EventCollectorService?, admin: AdminService?,
                            health: HealthService, callGuard: WireCallGuard? = nil) -> WireRouter {
    var router = WireRouter()
    if let recommender { register(recommender, on: &router) }
    if let events { register(events, on: &router) }
    if let admin { register(admin, on: &router) }
    register(health, on: &router, admitted: false)
    router.callGuard = callGuard
    return router
  }

  /// `/package.Service/Method`, the HTTP/2 path of `method` (the lean client calls these too).
  public static func path(_ method: MethodDescriptor) -> String { "/" + method.fullyQualifiedMethod }

  /// One request, one response.
  static func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ method: MethodDescriptor,
    _ body: @escaping @Sendable (ServerRequest<Request>, ServerContext) async throws -> ServerResponse<Response>
  ) -> WireMethod {
    .unary { bytes, call in
      try await RequestID.withNew {
        let response = try await body(ServerRequest(metadata: metadata(call), message: try decode(bytes)), context(method, call))
        guard response.metadata.isEmpty else {
          return WireReply(try response.message.serializedBytes(),
                           metadata: response.metadata.compactMap { key, value in
                             if case .string(let text) = value { (key, text) } else { nil }
                           })
        }
        return WireReply(try response.message.serializedBytes())
      }
    }
  }

  /// One request, a stream of responses (Health.Watch).
  static func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ method: MethodDescriptor,
    _ body: @escaping @Sendable (ServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response>
  ) -> WireMethod {
    .streaming { inbound, writer, call in
      var iterator = inbound.makeAsyncIterator()
      guard let bytes = try await iterator.next() else {
        throw RPCError(code: .internalError, message: "\(method.method) takes one request message; got none")
      }
      let request = ServerRequest<Request>(metadata: metadata(call), message: try decode(bytes))
      try await produce(try await body(request, context(method, call)), to: writer)
    }
  }

  /// A stream of requests, one response.
  static func clientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ method: MethodDescriptor,
    _ body: @escaping @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> ServerResponse<Response>
  ) -> WireMethod {
    .streaming { inbound, writer, call in
      let response = try await RequestID.withNew { try await body(streamingRequest(inbound, call), context(method, call)) }
      try await writer.write(try response.message.serializedBytes())
    }
  }

  /// Streams both ways (BatchRecommend).
  static func bidirectional<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ method: MethodDescriptor,
    _ body: @escaping @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response>
  ) -> WireMethod {
    .streaming { inbound, writer, call in
      try await produce(try await body(streamingRequest(inbound, call), context(method, call)), to: writer)
    }
  }

  private static func streamingRequest<Request: SwiftProtobuf.Message>(_ inbound: WireInboundMessages,
                                                                       _ call: WireCall) -> StreamingServerRequest<Request> {
    let messages = RPCAsyncSequence<Request, any Error>(wrapping: inbound.map { bytes throws -> Request in try decode(bytes) })
    return StreamingServerRequest(metadata: metadata(call), messages: messages)
  }

  /// Runs a streaming response's producer into the wire writer (a rejected response throws its error).
  private static func produce<Response: SwiftProtobuf.Message>(_ response: StreamingServerResponse<Response>,
                                                               to writer: WireResponseWriter) async throws {
    let contents = try response.accepted.get()
    _ = try await contents.producer(RPCWriter(wrapping: ProtobufWriter<Response>(writer: writer)))
  }

  /// The call's request metadata as grpc-swift's services read it (`grpc-timeout` included; HTTP/2
  /// pseudo-headers left out). O(headers); one allocation per call.
  public static func metadata(_ call: WireCall) -> Metadata {
    var metadata = Metadata()
    for (name, value, _) in call.headers where !name.hasPrefix(":") {
      metadata.addString(value, forKey: name)
    }
    return metadata
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
