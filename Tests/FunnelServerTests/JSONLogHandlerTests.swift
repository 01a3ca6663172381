import Foundation
@testable import FunnelServer
import Logging
import OTel
import Tracing
import Testing

/// `log.format json`: each line is one JSON object with the fixed fields first and the metadata as
/// strings, whatever the message holds (quotes, newlines, non-ASCII).
@Suite struct JSONLogHandlerTests {
  @Test func aLineIsOneJSONObject() throws {
    let bytes = JSONLogHandler.line(time: "2026-12-06T01:02:03.004Z", level: .warning, label: "funnel",
                                    message: "a \"store\" failed\nretrying – é",
                                    metadata: ["request_id": "r1", "attempt": .stringConvertible(2), "msg": "shadowed"],
                                    source: "FunnelGRPC")
    #expect(bytes.last == UInt8(ascii: "\n") && bytes.dropLast().firstIndex(of: UInt8(ascii: "\n")) == nil, "one line")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String])
    #expect(object == ["ts": "2026-12-06T01:02:03.004Z", "level": "warning", "logger": "funnel",
                       "msg": "a \"store\" failed\nretrying – é", "request_id": "r1", "attempt": "2", "source": "FunnelGRPC"])
  }

  @Test func timestampsAreRFC3339InUTC() {
    let stamp = JSONLogHandler.timestamp()
    #expect(stamp.count == 24 && stamp.hasSuffix("Z") && stamp.dropFirst(10).first == "T", "\(stamp)")
  }

  @Test func theFormatAndLevelAreConfiguration() throws {
    let options = try ServerOptions.resolve(configFile: nil, environment: [:],
                                            flags: [("--log-format", "log.format", "json"), ("--log-level", "log.level", "debug")])
    #expect(options.logFormat == .json && options.logLevel == .debug)
    #expect(throws: (any Error).self) {
      try ServerOptions.resolve(configFile: nil, environment: [:], flags: [("--log-format", "log.format", "xml")])
    }
  }
}

/// With tracing on, a line logged inside a request's span carries the span's trace and span ids.
@Suite struct TraceIDsInLogsTests {
  @Test func theMetadataProviderNamesTheCurrentSpan() async throws {
    var options = ServerOptions()
    options.otlpEndpoint = "http://127.0.0.1:9"
    options.traceSamplePerMille = 1_000
    let traces = try #require(try TraceExport.make(options, logger: Logger(label: "test")))
    let handler = JSONLogHandler(label: "funnel", metadataProvider: OTel.makeLoggingMetadataProvider())
    let (inside, traceparent) = traces.tracer.withSpan("Recommend") { span -> (Logger.Metadata?, String) in
      var headers: [String: String] = [:]
      traces.tracer.inject(span.context, into: &headers, using: DictionaryInjector())
      return (handler.metadataProvider?.get(), headers["traceparent"] ?? "")
    }
    let spanTrace = traceparent.split(separator: "-").dropFirst().first.map(String.init) ?? "none"
    let traceID = try #require(inside?["trace_id"], "\(String(describing: inside))")
    #expect("\(traceID)" == spanTrace)
    #expect(handler.metadataProvider?.get()["trace_id"] == nil, "no trace id outside a span")
  }
}

private struct DictionaryInjector: Injector {
  func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
