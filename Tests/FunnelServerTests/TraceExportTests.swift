import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import FunnelServer
import FunnelHTTP
import FunnelTestSupport
import Logging
import ServiceLifecycle
import Testing

/// `tracing.otlpEndpoint` set: swift-otel's tracer with the W3C propagator. A caller's
/// `traceparent` is continued (same trace id, sampled as the caller said) and the server's span comes
/// back in the response's `traceparent`. Off by default.
@Suite struct TraceExportTests {
  @Test func tracingIsOffUnlessAnEndpointIsSet() throws {
    #expect(try TraceExport.make(ServerOptions(), logger: Logger(label: "test")) == nil)
  }

  @Test func aCallersTraceparentIsContinuedAndTheServerSpanReturned() async throws {
    var options = ServerOptions()
    options.otlpEndpoint = "http://127.0.0.1:9"  // nothing listens: this test reads headers, not exports
    options.traceSamplePerMille = 0               // the caller's sampled flag decides, not the ratio
    let traces = try #require(try TraceExport.make(options, logger: Logger(label: "test")))
    let (engine, _) = TestEngines.engine(tracer: traces.tracer)
    let listener = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"))
    try await TestListeners.with(listener) { port in
      let traceID = "4bf92f3577b34da6a3ce929d0e0e4736", callerSpan = "00f067aa0ba902b7"
      var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/recommend")!)
      request.httpMethod = "POST"
      request.setValue("application/json", forHTTPHeaderField: "content-type")
      request.setValue("00-\(traceID)-\(callerSpan)-01", forHTTPHeaderField: "traceparent")
      request.httpBody = Data(#"{"user_id":"U-1","scene":"home","count":3}"#.utf8)
      let (_, response) = try await URLSession.shared.data(for: request)
      let http = try #require(response as? HTTPURLResponse)
      #expect(http.statusCode == 200)
      let returned = try #require(http.value(forHTTPHeaderField: "traceparent"), "the server's span is returned")
      let parts = returned.split(separator: "-").map(String.init)
      #expect(parts.count == 4 && parts[0] == "00" && parts[1] == traceID, "\(returned)")
      #expect(parts.count == 4 && parts[2] != callerSpan && parts[2].count == 16 && parts[3] == "01", "\(returned)")
    }
  }
}
