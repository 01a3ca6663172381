import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import FunnelCore
import FunnelGRPC
import FunnelHTTP
import FunnelServer
import FunnelTestSupport
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ServiceLifecycle
import Testing

/// The JSON API and gRPC are two doors to one implementation: the same requests, drawn at random
/// from the demo catalog (users, scenes, anchors, counts, filters, queries), get the same items in
/// the same order through `POST /v1/recommend` / `/v1/search` and through Recommender over HTTP/2.
@Suite struct JSONParityTests {
  @Test func jsonAndGRPCAnswerTheSameItemsInTheSameOrder() async throws {
    let (engine, store) = TestEngines.engine()
    let http = HTTPListener(host: "127.0.0.1", port: 0, engine: engine, logger: Logger(label: "test"))
    var rng = SplitMix64(seed: 24)
    let items = TestEngines.store.items
    let users = Array(Set(TestEngines.store.events.map(\.userID))).sorted()
    try await TestListeners.with(http) { httpPort in
      try await TestServers.withServer(engine: engine, store: store) { grpcPort in
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: grpcPort), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { client in
          let recommender = Funnel_V1_Recommender.Client(wrapping: client)
          var compared = 0
          for round in 0..<60 {
            let user = users[Int(rng.next() % UInt64(users.count))]
            let count = Int(rng.next() % 30) + 1
            let filter = rng.next() % 3 == 0 ? "price:<30" : ""
            if round % 4 == 3 {
              let words = items[Int(rng.next() % UInt64(items.count))].title.split(separator: " ")
              let query = String(words[Int(rng.next() % UInt64(words.count))])
              var request = Funnel_V1_SearchRequest()
              (request.query, request.userID, request.count, request.filter) = (query, user, UInt32(count), filter)
              let viaGRPC = try await recommender.search(request).items.map(\.itemID)
              let body: [String: Any] = ["query": query, "user_id": user, "count": count, "filter": filter]
              #expect(try await Self.post(httpPort, "/v1/search", body) == viaGRPC, "search '\(query)' for \(user)")
            } else {
              let scenes: [(Funnel_V1_Scene, String)] = [(.home, "home"), (.itemPage, "item_page"), (.cart, "cart"), (.email, "email")]
              let (scene, sceneName) = scenes[Int(rng.next() % 4)]
              let anchors = scene == .home || scene == .email ? [] : [items[Int(rng.next() % UInt64(items.count))].id]
              var request = Funnel_V1_RecommendRequest()
              (request.userID, request.scene, request.count, request.filter, request.anchorItemIds) = (user, scene, UInt32(count), filter, anchors)
              let viaGRPC = try await recommender.recommend(request).items.map(\.itemID)
              let body: [String: Any] = ["user_id": user, "scene": sceneName, "count": count, "filter": filter, "anchor_item_ids": anchors]
              #expect(try await Self.post(httpPort, "/v1/recommend", body) == viaGRPC, "\(sceneName) for \(user)")
            }
            compared += 1
          }
          #expect(compared == 60)
        }
      }
    }
  }

  /// POSTs `body` as JSON and returns the answer's item ids (empty on an error status).
  static func post(_ port: Int, _ path: String, _ body: [String: Any]) async throws -> [String] {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "content-type")
    request.httpBody = try JSONSerialization.data(withJSONObject: body)
    let (data, response) = try await URLSession.shared.data(for: request)
    guard (response as? HTTPURLResponse)?.statusCode == 200,
          let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let items = object["items"] as? [[String: Any]] else { return [] }
    return items.compactMap { $0["item_id"] as? String }
  }
}
