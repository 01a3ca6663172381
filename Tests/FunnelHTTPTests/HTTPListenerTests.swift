import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import FeatureStore
import FunnelCore
import FunnelHTTP
import FunnelTestSupport
import Logging
import ServiceLifecycle
import Serving
import InMemoryTracing
import Testing
import Synchronization

@Suite struct HTTPListenerTests {
  func post(_ port: Int, _ path: String, _ body: String, method: String = "POST",
            contentType: String = "application/json; charset=utf-8") async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = method
    if method == "POST" {
      request.httpBody = Data(body.utf8)
      request.setValue(contentType, forHTTPHeaderField: "content-type")
    }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }

  @Test func eventsHealthAndMetricsOverHTTP() async throws {
    let (engine, store) = TestEngines.engine()
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"))
    try await TestListeners.with(listener) { port in
      let body = #"{"events":[{"event_id":"h1","user_id":"http-user","item_id":"\#(TestEngines.store.items[0].id)","type":"click"},{"event_id":"h2","user_id":"","item_id":"x","type":"view"}]}"#
      let (status, answer) = try await post(port, "/v1/events", body)
      #expect(status == 200)
      #expect(answer.hasPrefix(#"{"accepted":1,"duplicates":0,"rejected":[{"event_id":"h2","index":1,"reason":"events[1].user_id"#), "\(answer)")
      #expect(try await post(port, "/v1/events", body).1.hasPrefix(#"{"accepted":0,"duplicates":1"#), "idempotent by event id")
      #expect(try await store.recentActivity(of: "http-user", limit: 5).count == 1)
      #expect(try await post(port, "/v1/events", "{").0 == 400)
      // Only JSON: a form post from a page is refused before it is parsed.
      let form = try await post(port, "/v1/events", body, contentType: "application/x-www-form-urlencoded")
      #expect(form.0 == 415, "\(form)")
      // The whole request refused, naming the field: a wrong JSON type, a number out of its wire range,
      // a field the contract does not have.
      for (bad, field) in [(#"{"events":[{"price":"cheap"}]}"#, "events[0].price"),
                           (#"{"events":[{"event_id":"a"},{"quantity":true}]}"#, "events[1].quantity"),
                           (#"{"events":[{"quantity":5000000000}]}"#, "events[0].quantity"),
                           (#"{"events":[{"timestamp_ms":-1}]}"#, "events[0].timestamp_ms"),
                           (#"{"evnts":[]}"#, "events"), ("[1]", nil),
                           // swift-foundation's JSONDecoder drops the path of a fraction where an integer belongs.
                           (#"{"events":[{"quantity":1.5}]}"#, nil)] as [(String, String?)] {
        let (status, problem) = try await post(port, "/v1/events", bad)
        #expect(status == 400 && problem.contains(#""status":400"#), "\(bad): \(problem)")
        if let field { #expect(problem.contains(#""field":"\#(field)""#), "\(bad): \(problem)") }
      }
      let typo = try await post(port, "/v1/events", #"{"events":[{"colour":"red"}]}"#)
      #expect(typo.0 == 400 && typo.1.contains("colour"), "\(typo)")
      #expect(try await post(port, "/healthz", "", method: "GET") == (200, "ok\n"))
      #expect(try await post(port, "/healthz", "", method: "HEAD") == (200, ""), "probes may send HEAD")
      let metrics = try await post(port, "/metrics", "", method: "GET")
      #expect(metrics.0 == 200 && metrics.1.contains("funnel_events_accepted_total 1") && metrics.1.contains("funnel_events_rejected_total 2"))
      // Per route, method and code: the two accepted posts, the 400, the 415.
      func requests(_ route: String, _ method: String, _ code: String) -> Double {
        engine.metrics.value("funnel_http_requests_total", [("route", route), ("method", method), ("code", code)])
      }
      #expect(requests("/v1/events", "POST", "200") == 2 && requests("/v1/events", "POST", "400") == 9
        && requests("/v1/events", "POST", "415") == 1, "\(metrics.1)")
      let missing = try await post(port, "/nope", "", method: "GET")
      #expect(missing.0 == 404 && missing.1.contains("no such path: /nope"), "\(missing)")
      #expect(try await post(port, "/healthz", "x").0 == 405)
      #expect(try await post(port, "/v1/events", "", method: "GET").0 == 405)
      let ready = try await post(port, "/readyz", "", method: "GET")
      #expect(ready.0 == 200 && ready.1.hasPrefix(#"{"ready":true,"index":""#) && ready.1.contains(#""model":"#), "\(ready)")
      // Over 1 MiB: 413, and nothing was read into the engine.
      let large = "{\"events\":[" + String(repeating: " ", count: 1 << 20) + "]}"
      #expect(try await post(port, "/v1/events", large).0 == 413)
      // The same for every route: the generated stubs would read a body of any size.
      let huge = #"{"user_id":"u","scene":"home","filter":""# + String(repeating: "x", count: 1 << 20) + #""}"#
      #expect(try await post(port, "/v1/recommend", huge).0 == 413)
    }
  }
}

/// The JSON API of `openapi.yaml`: answers, RFC 9457 problems naming the field, item lookup, the document.
@Suite struct JSONAPITests {
  @Test func recommendSearchItemsAndProblems() async throws {
    let (engine, _) = TestEngines.engine()
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"))
    try await TestListeners.with(listener) { port in
      func call(_ method: String, _ path: String, _ body: String? = nil, contentType: String = "application/json")
        async throws -> (Int, String?, [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let body {
          request.httpBody = Data(body.utf8)
          request.setValue(contentType, forHTTPHeaderField: "content-type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return (http.statusCode, http.value(forHTTPHeaderField: "content-type"), object)
      }
      let item = TestEngines.store.items[0]
      let (status, _, answer) = try await call("POST", "/v1/recommend", #"{"user_id":"U-1","scene":"item_page","count":5,"anchor_item_ids":["\#(item.id)"]}"#)
      #expect(status == 200 && (answer["items"] as? [[String: Any]])?.count == 5 && answer["request_id"] is String, "\(answer)")
      let search = try await call("POST", "/v1/search", #"{"query":"\#(item.title.split(separator: " ")[0])","count":3}"#)
      #expect(search.0 == 200 && (search.2["total_matches"] as? Int ?? 0) > 0, "\(search.2)")
      let found = try await call("GET", "/v1/items/\(item.id)")
      #expect(found.0 == 200 && found.2["title"] as? String == item.title && found.2["price"] as? Double == item.price)
      // Problems: the engine's validation, the JSON decoder's, the content type, an unknown item.
      let empty = try await call("POST", "/v1/recommend", #"{"user_id":"","scene":"home"}"#)
      #expect(empty.0 == 400 && empty.1 == "application/problem+json" && empty.2["field"] as? String == "user_id"
        && empty.2["status"] as? Int == 400 && (empty.2["detail"] as? String)?.contains("is empty") == true, "\(empty)")
      let typed = try await call("POST", "/v1/recommend", #"{"user_id":"u","scene":"home","count":"ten"}"#)
      #expect(typed.0 == 400 && typed.2["field"] as? String == "count", "\(typed)")
      let unknown = try await call("POST", "/v1/recommend", #"{"user_id":"u","scene":"home","colour":"red"}"#)
      #expect(unknown.0 == 400 && unknown.2["field"] as? String == "colour", "\(unknown)")
      let missing = try await call("POST", "/v1/search", #"{"count":3}"#)
      #expect(missing.0 == 400 && missing.2["field"] as? String == "query", "\(missing)")
      #expect(try await call("POST", "/v1/recommend", "user_id=u", contentType: "application/x-www-form-urlencoded").0 == 415)
      let nowhere = try await call("GET", "/v1/items/no-such-item")
      #expect(nowhere.0 == 404 && nowhere.1 == "application/problem+json")
      #expect(try await call("GET", "/v1/recommend").0 == 405)
      let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/openapi.yaml")!)
      #expect(String(decoding: data, as: UTF8.self).hasPrefix("openapi: 3.1.0"))
    }
  }
}

/// gzip when asked, and CORS for the configured origins only (raw HTTP/1.1, as a browser or curl sends it).
@Suite struct HTTPEncodingAndCORSTests {
  /// Sends `request` (CRLF lines) and returns the response's head and body bytes.
  static func exchange(_ port: Int, _ request: String) throws -> (head: String, body: [UInt8]) {
    let fd = try LoopbackSocket.connect(port: port)
    defer { close(fd) }
    _ = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, 0) }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = recv(fd, &chunk, chunk.count, 0)
      if n <= 0 { break }
      received += chunk[0..<n]
    }
    let separator = Array("\r\n\r\n".utf8)
    guard let end = (0..<max(0, received.count - 3)).first(where: { Array(received[$0..<$0 + 4]) == separator }) else {
      return (String(decoding: received, as: UTF8.self), [])
    }
    return (String(decoding: received[..<end], as: UTF8.self).lowercased(), Array(received[(end + 4)...]))
  }

  @Test func gzipWhenAskedAndCORSForTheConfiguredOrigin() async throws {
    let (engine, _) = TestEngines.engine()
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"),
                                corsOrigins: ["https://shop.example"])
    try await TestListeners.with(listener) { port in
      let body = #"{"user_id":"U-1","scene":"home","count":50}"#
      func post(_ extra: String) throws -> (head: String, body: [UInt8]) {
        try Self.exchange(port, "POST /v1/recommend HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
          + "Content-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)")
      }
      let zipped = try await Task.detached { try post("Accept-Encoding: gzip, deflate\r\n") }.value
      #expect(zipped.head.contains("content-encoding: gzip") && zipped.body.starts(with: [0x1f, 0x8b]), "\(zipped.head)")
      let plain = try await Task.detached { try post("Accept-Encoding: gzip;q=0\r\n") }.value
      #expect(!plain.head.contains("content-encoding") && plain.body.first == UInt8(ascii: "{"))
      #expect(zipped.body.count < plain.body.count / 2, "\(zipped.body.count) bytes zipped, \(plain.body.count) plain")
      let allowed = try await Task.detached { try post("Origin: https://shop.example\r\n") }.value
      #expect(allowed.head.contains("access-control-allow-origin: https://shop.example"), "\(allowed.head)")
      let other = try await Task.detached { try post("Origin: https://evil.example\r\n") }.value
      #expect(!other.head.contains("access-control-allow-origin"), "\(other.head)")
      let preflight = try await Task.detached {
        try Self.exchange(port, "OPTIONS /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nOrigin: https://shop.example\r\n"
          + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
      }.value
      #expect(preflight.head.hasPrefix("http/1.1 2") && preflight.head.contains("access-control-allow-methods"), "\(preflight.head)")
    }
  }
}

/// A caller's trace context sent as headers parents the request's span (the tracer's own keys here;
/// `traceparent` with a W3C propagator).
@Suite struct HTTPTraceContextTests {
  @Test func theCallersTraceParentsTheRecommendSpan() async throws {
    let tracer = InMemoryTracer()
    let (engine, _) = TestEngines.engine(tracer: tracer)
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"))
    try await TestListeners.with(listener) { port in
      var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/recommend")!)
      request.httpMethod = "POST"
      request.setValue("application/json", forHTTPHeaderField: "content-type")
      request.setValue("trace-from-the-shop", forHTTPHeaderField: InMemoryTracer.traceIDKey)
      request.setValue("span-of-the-shop", forHTTPHeaderField: InMemoryTracer.spanIDKey)
      request.httpBody = Data(#"{"user_id":"U-1","scene":"home","count":3}"#.utf8)
      let (_, response) = try await URLSession.shared.data(for: request)
      #expect((response as? HTTPURLResponse)?.statusCode == 200)
      let server = try #require(tracer.finishedSpans.first { $0.operationName == "POST /v1/recommend" })
      #expect(server.kind == .server && server.spanContext.traceID == "trace-from-the-shop"
        && server.spanContext.parentSpanID == "span-of-the-shop", "the HTTP span continues the caller's trace")
      let span = try #require(tracer.finishedSpans.first { $0.operationName == "Recommend" })
      #expect(span.spanContext.traceID == "trace-from-the-shop" && span.spanContext.parentSpanID == server.spanContext.spanID)
      #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: InMemoryTracer.spanIDKey) == server.spanContext.spanID,
              "the server's span is returned to the caller")
    }
  }
}

@Suite struct HTTPReadinessTests {
  /// A replica that is draining answers /readyz with 503 (the balancer takes it out) and shows its checks.
  @Test func aDrainingReplicaIsNotReady() async throws {
    let (engine, _) = TestEngines.engine()
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"),
                                readiness: { HTTPReadiness(ready: false, checks: [("store.redis", "open")]) })
    try await TestListeners.with(listener) { port in
      let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!)
      #expect((response as? HTTPURLResponse)?.statusCode == 503)
      #expect(String(decoding: data, as: UTF8.self) == #"{"ready":false,"store.redis":"open"}"#)
    }
  }
}

/// A store that is down: its error names an internal address, which clients must not see.
private struct DownStore: EventSink {
  struct Down: StoreFailure {
    var store: String { "redis" }
    var description: String { "redis 10.1.2.3:6379: connection refused" }
  }
  func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult { throw Down() }
  func forget(user: UserID) async throws -> Int { throw Down() }
}

@Suite struct HTTPOutageTests {
  /// A store outage is 503 with Retry-After, and the body names the store but not its address; the
  /// log line about it (with the address) carries the request id the response returns.
  @Test func aStoreOutageIsUnavailableWithoutTheAddress() async throws {
    let (engine, _) = TestEngines.engine(events: DownStore())
    let lines = LogLines()
    let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: lines, metadataProvider: RequestID.metadataProvider) }
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: logger)
    try await TestListeners.with(listener) { port in
      var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/events")!)
      request.httpMethod = "POST"
      request.setValue("application/json", forHTTPHeaderField: "content-type")
      request.httpBody = Data(#"{"events":[{"event_id":"o1","user_id":"u","item_id":"\#(TestEngines.store.items[0].id)","type":"view"}]}"#.utf8)
      let (data, response) = try await URLSession.shared.data(for: request)
      let http = try #require(response as? HTTPURLResponse)
      let body = String(decoding: data, as: UTF8.self)
      #expect(http.statusCode == 503)
      #expect(http.value(forHTTPHeaderField: "retry-after") == "1")
      #expect(body.contains("redis store is unavailable") && !body.contains("10.1.2.3"), "\(body)")
      let id = try #require(http.value(forHTTPHeaderField: "x-request-id"))
      let logged = lines.all.filter { $0.message.contains("a store failed") }
      #expect(logged.count == 1 && logged.first?.metadata["request_id"] == id && logged.first?.metadata["error"]?.contains("10.1.2.3") == true,
              "\(logged) \(id)")
    }
  }

  /// A connection that sends nothing is closed after the idle timeout.
  @Test func idleConnectionsAreClosed() async throws {
    let (engine, _) = TestEngines.engine()
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"),
                                idleTimeout: .milliseconds(300))
    try await TestListeners.with(listener) { port in
      let closed = try await Task.detached { try Self.waitForClose(port: port, limitSeconds: 20) }.value
      #expect(closed, "the server closed the idle connection")
    }
  }

  /// Connects to `port` on loopback and blocks until the peer closes (true) or the limit passes.
  static func waitForClose(port: Int, limitSeconds: Int) throws -> Bool {
    let fd = try LoopbackSocket.connect(port: port)
    defer { close(fd) }
    var timeout = timeval(tv_sec: limitSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var byte: UInt8 = 0
    return recv(fd, &byte, 1, 0) == 0
  }
}

/// Log lines kept in memory (message and metadata as text), with the logger's metadata provider applied.
final class LogLines: Sendable {
  private let lines = Mutex<[(message: String, metadata: [String: String])]>([])
  var all: [(message: String, metadata: [String: String])] { lines.withLock { $0 } }
  func append(_ message: String, _ metadata: [String: String]) { lines.withLock { $0.append((message, metadata)) } }
}

struct RecordingLogHandler: LogHandler {
  let lines: LogLines
  var metadataProvider: Logger.MetadataProvider?
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace

  init(lines: LogLines, metadataProvider: Logger.MetadataProvider?) {
    self.lines = lines
    self.metadataProvider = metadataProvider
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var all = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }
    all.merge(event.metadata ?? [:]) { $1 }
    lines.append("\(event.message)", all.mapValues { "\($0)" })
  }
}
