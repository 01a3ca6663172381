import Foundation
#if canImport(Glibc)
import Glibc
#endif
import FunnelHTTP
import FunnelSecurity
import FunnelTestSupport
import Logging
import Testing

/// The dashboard's listener: its page and script, the full view, pushes as server-sent events, the
/// dashboard scope, and the feed's bounds.
@Suite struct DashboardListenerTests {
  static func listener(feed: DashboardFeed, authenticator: Authenticator? = nil) -> DashboardListener {
    DashboardListener(host: "127.0.0.1", port: 0, feed: feed, view: { Array(#"{"tick":{}}"#.utf8) },
                      alarms: { Array("[]".utf8) }, chartLibrary: Array("/* chart */".utf8), authenticator: authenticator,
                      logger: Logger(label: "test"))
  }

  /// A GET over a blocking socket, on a thread of its own: blocking the cooperative pool would starve
  /// the listener under test (and the other suites) of the threads they answer on.
  static func get(_ port: Int, _ path: String, headers: String = "") async throws -> (head: String, body: String) {
    try await offPool {
      let (head, body) = try HTTPEncodingAndCORSTests.exchange(port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\(headers)\r\n")
      return (head, String(decoding: body, as: UTF8.self))
    }
  }

  @Test func servesThePageTheViewAndPushes() async throws {
    let feed = DashboardFeed()
    try await TestListeners.with(Self.listener(feed: feed)) { port in
      let page = try await Self.get(port, "/dashboard")
      #expect(page.head.hasPrefix("http/1.1 200") && page.body.contains("/dashboard/app.js") && page.body.contains("/dashboard/chart.js"))
      #expect(try await Self.get(port, "/dashboard/app.js").body.contains("/v1/dashboard/stream"))
      #expect(try await Self.get(port, "/dashboard/chart.js").body == "/* chart */")
      #expect(try await Self.get(port, "/v1/dashboard").body == #"{"tick":{}}"#)
      // A stream gets what is published after it opens, as server-sent events.
      let received = try await offPool { () throws -> String in
        let fd = try LoopbackSocket.connect(port: port)
        defer { close(fd) }
        let request = "GET /v1/dashboard/stream HTTP/1.1\r\nHost: x\r\n\r\n"
        _ = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, 0) }
        var received = ""
        let deadline = ContinuousClock.now + .seconds(10)
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while !received.contains("event: tick\ndata: {\"n\":2}"), ContinuousClock.now < deadline {
          if feed.viewers == 1 {
            feed.publish(DashboardFeed.event("tick", json: Array(#"{"n":1}"#.utf8)))
            feed.publish(DashboardFeed.event("tick", json: Array(#"{"n":2}"#.utf8)))
          }
          var chunk = [UInt8](repeating: 0, count: 4_096)
          let n = recv(fd, &chunk, chunk.count, 0)
          if n > 0 { received += String(decoding: chunk[0..<n], as: UTF8.self) }
        }
        return received
      }
      #expect(received.lowercased().contains("content-type: text/event-stream"))
      #expect(received.contains("event: tick\ndata: {\"n\":1}\n\n"))
      #expect(received.contains("event: tick\ndata: {\"n\":2}\n\n"))
    }
  }

  @Test func needsTheDashboardOrAdminScope() async throws {
    let viewer = APIKeys.makeKey(name: "wall", scopes: [.dashboard])
    let operator_ = APIKeys.makeKey(name: "ops", scopes: [.admin])
    let shop = APIKeys.makeKey(name: "shop", scopes: [.recommend, .eventsWrite])
    let authenticator = Authenticator(apiKeys: try APIKeys(configuration: [viewer.entry, operator_.entry, shop.entry].joined(separator: ",")),
                                      jwt: nil)
    try await TestListeners.with(Self.listener(feed: DashboardFeed(), authenticator: authenticator)) { port in
      let anonymous = try await Self.get(port, "/v1/dashboard")
      let shopper = try await Self.get(port, "/v1/dashboard", headers: "Authorization: Bearer \(shop.key)\r\n")
      let wall = try await Self.get(port, "/v1/dashboard", headers: "Authorization: Bearer \(viewer.key)\r\n")
      let ops = try await Self.get(port, "/v1/alarms", headers: "X-API-Key: \(operator_.key)\r\n")
      let probe = try await Self.get(port, "/healthz")
      #expect(anonymous.head.hasPrefix("http/1.1 401"))
      #expect(shopper.head.hasPrefix("http/1.1 403"))
      #expect(wall.head.hasPrefix("http/1.1 200"))
      #expect(ops.head.hasPrefix("http/1.1 200"))
      #expect(probe.head.hasPrefix("http/1.1 200"), "probes need no credentials")
    }
  }

  @Test func theFeedIsBoundedPerViewerAndInViewers() async throws {
    let feed = DashboardFeed(maxViewers: 2, buffered: 3)
    let first = try #require(feed.subscribe())
    let second = try #require(feed.subscribe())
    #expect(feed.subscribe() == nil, "a third page is refused")
    for i in 0..<10 { feed.publish(Array("m\(i)".utf8), isView: i == 9) }
    // A page that did not read keeps the newest three only.
    var kept: [String] = []
    for await message in first {
      kept.append(String(decoding: message, as: UTF8.self))
      if kept.count == 3 { break }
    }
    #expect(kept == ["m7", "m8", "m9"])
    _ = second
    // A page that opens later gets the last view first.
    feed.finish()
    let late = try #require(feed.subscribe())
    var iterator = late.makeAsyncIterator()
    #expect(await iterator.next().map { String(decoding: $0, as: UTF8.self) } == "m9")
  }
}
