import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import FunnelCore
import FunnelHTTP
import FunnelTestSupport
import Logging
import ServiceLifecycle
import Serving
import Testing

@Suite struct EventJSONTests {
  @Test func decodesTheTrackContractAndNamesTheBadField() throws {
    let body = #"{"events":[{"event_id":"e1","user_id":"u","item_id":"I","type":"add_to_cart","timestamp_ms":1790000000000,"quantity":2,"price":3.5,"country":"GB"},{"event_id":"e2","user_id":"u","item_id":"I","type":"teleport"}]}"#
    let inputs = try EventJSON.decode(Array(body.utf8))
    #expect(inputs.count == 2 && inputs[0].kind == .addToCart && inputs[0].quantity == 2 && inputs[0].country == "GB")
    #expect(inputs[1].kind == nil && inputs[1].kindLabel == "'teleport'", "an unknown type is the engine's per-event rejection")
    func message(_ text: String) -> String {
      do { _ = try EventJSON.decode(Array(text.utf8)); return "" } catch { return "\(error)" }
    }
    #expect(message("[1]").contains("body"))
    #expect(message(#"{"events":[{"price":"cheap"}]}"#).contains("events[0].price"))
    #expect(message(#"{"events":[{"quantity":1.5}]}"#).contains("events[0].quantity"))
    #expect(message(#"{"events":[{"colour":"red"}]}"#).contains("events[0].colour"))
    #expect(message(#"{"evnts":[]}"#).contains("evnts"))
  }
}

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
    let group = ServiceGroup(configuration: .init(services: [.init(service: listener)], logger: Logger(label: "test")))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let port = try await listener.listeningPort()
      let body = #"{"events":[{"event_id":"h1","user_id":"http-user","item_id":"\#(TestEngines.store.items[0].id)","type":"click"},{"event_id":"h2","user_id":"","item_id":"x","type":"view"}]}"#
      let (status, answer) = try await post(port, "/v1/events", body)
      #expect(status == 200)
      #expect(answer.hasPrefix(#"{"accepted":1,"duplicates":0,"rejected":[{"index":1,"event_id":"h2","reason":"events[1].user_id"#))
      #expect(try await post(port, "/v1/events", body).1.hasPrefix(#"{"accepted":0,"duplicates":1"#), "idempotent by event id")
      #expect(try await store.recentActivity(of: "http-user", limit: 5).count == 1)
      #expect(try await post(port, "/v1/events", "{").0 == 400)
      // Only JSON: a form post from a page is refused before it is parsed.
      let form = try await post(port, "/v1/events", body, contentType: "application/x-www-form-urlencoded")
      #expect(form.0 == 415 && form.1.contains("application/json"))
      #expect(try await post(port, "/healthz", "", method: "GET") == (200, "ok\n"))
      let metrics = try await post(port, "/metrics", "", method: "GET")
      #expect(metrics.0 == 200 && metrics.1.contains("funnel_events_accepted_total 1") && metrics.1.contains("funnel_events_rejected_total 2"))
      #expect(try await post(port, "/nope", "", method: "GET").0 == 404)
      #expect(try await post(port, "/healthz", "x").0 == 405)
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
  }
}
