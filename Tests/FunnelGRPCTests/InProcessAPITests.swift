import FunnelGRPC
import FunnelTestSupport
import GRPCCore
import GRPCInProcessTransport
import Logging
import Serving
import Testing

/// The API through grpc-swift's in-process transport: the real services, codecs and status mapping,
/// without sockets.
@Suite struct InProcessAPITests {
  static func withAPI<R: Sendable>(
    _ body: @Sendable (GRPCClient<InProcessTransport.Client>, ServingEngine) async throws -> R
  ) async throws -> R {
    let (engine, store) = TestEngines.engine()
    let logger = Logger(label: "test")
    let transport = InProcessTransport()
    let services: [any RegistrableRPCService] = [
      RecommenderService(engine: engine, logger: logger),
      EventCollectorService(engine: engine, logger: logger),
      AdminService(engine: engine, logger: logger, serverVersion: "test", statistics: { store.counts() }),
      HealthService(state: HealthState()),
    ]
    return try await withGRPCServer(transport: transport.server, services: services) { _ in
      try await withGRPCClient(transport: transport.client) { client in try await body(client, engine) }
    }
  }

  @Test func recommendAnswersWithItemsAndVersions() async throws {
    try await Self.withAPI { client, _ in
      var request = Funnel_V1_RecommendRequest()
      request.userID = "U-3"
      request.scene = .home
      request.count = 8
      request.debug = true
      let response = try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request)
      #expect(response.items.count == 8)
      #expect(response.items.allSatisfy { !$0.itemID.isEmpty && !$0.channels.isEmpty && !$0.reasons.isEmpty })
      #expect(response.modelVersion == "builtin-linear-v2" && response.indexVersion == "test-1")
      #expect(response.experimentArm == "default" && response.requestID.count == 16)
      #expect(response.debug.timings.contains { $0.stage == "rank" })
    }
  }

  /// Validation failures reach the client as INVALID_ARGUMENT naming the field.
  @Test(arguments: [
    ("", Funnel_V1_Scene.home, UInt32(5), "", "user_id"),
    ("U-1", .unspecified, 5, "", "scene"),
    ("U-1", .UNRECOGNIZED(42), 5, "", "scene"),
    ("U-1", .home, 5000, "", "count"),
    ("U-1", .home, 5, "price:[", "filter"),
    ("U-1", .search, 5, "", "scene"),
  ])
  func invalidRequestsAreInvalidArgument(user: String, scene: Funnel_V1_Scene, count: UInt32, filter: String,
                                         field: String) async throws {
    try await Self.withAPI { client, _ in
      var request = Funnel_V1_RecommendRequest()
      request.userID = user
      request.scene = scene
      request.count = count
      request.filter = filter
      let error = await #expect(throws: RPCError.self) {
        try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request)
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.message.hasPrefix(field) == true, "\(error?.message ?? "")")
    }
  }

  @Test func unknownAnchorIsNotFound() async throws {
    try await Self.withAPI { client, _ in
      var request = Funnel_V1_RecommendRequest()
      request.userID = "U-1"
      request.scene = .itemPage
      request.anchorItemIds = ["SKU-nope"]
      let error = await #expect(throws: RPCError.self) {
        try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request)
      }
      #expect(error?.code == .notFound)
    }
  }

  @Test func searchReportsMatches() async throws {
    try await Self.withAPI { client, _ in
      var request = Funnel_V1_SearchRequest()
      request.query = "ceramic mug"
      request.count = 5
      let response = try await Funnel_V1_Recommender.Client(wrapping: client).search(request)
      #expect(response.items.count == 5)
      #expect(response.totalMatches >= 5)
    }
  }

  @Test func batchAnswersEveryRowInOrderAndSurvivesBadRows() async throws {
    try await Self.withAPI { client, _ in
      let rows: [Funnel_V1_BatchRecommendRequest] = (0..<40).map { i in
        var row = Funnel_V1_BatchRecommendRequest()
        row.rowID = "r\(i)"
        row.request.userID = i % 5 == 0 ? "" : "U-\(i + 1)"
        row.request.count = i % 9 == 0 ? 9999 : 4
        return row
      }
      let answers = try await Funnel_V1_Recommender.Client(wrapping: client).batchRecommend(
        request: StreamingClientRequest(of: Funnel_V1_BatchRecommendRequest.self) { writer in
          try await writer.write(contentsOf: rows)
        }
      ) { response in
        var collected: [Funnel_V1_BatchRecommendResponse] = []
        for try await answer in response.messages { collected.append(answer) }
        return collected
      }
      #expect(answers.map(\.rowID) == rows.map(\.rowID))
      for (i, answer) in answers.enumerated() {
        let bad = i % 5 == 0 || i % 9 == 0
        switch answer.result {
        case .error(let e)?:
          #expect(bad, "row \(i) failed: \(e.message)")
          #expect(e.code == "INVALID_ARGUMENT")
        case .response(let r)?:
          #expect(!bad, "row \(i) should have failed")
          #expect(r.items.count == 4)
        case nil:
          Issue.record("row \(i) has no result")
        }
      }
    }
  }

  @Test func trackIsIdempotentAndReportsRejectedEvents() async throws {
    try await Self.withAPI { client, _ in
      let collector = Funnel_V1_EventCollector.Client(wrapping: client)
      var request = Funnel_V1_TrackRequest()
      request.events = (0..<3).map { i in
        var e = Funnel_V1_Event()
        e.eventID = "ev-\(i)"
        e.userID = "U-9"
        e.itemID = "SKU-100002"
        e.type = i == 1 ? .unspecified : .click
        e.timestampMs = TestEngines.nowMs
        return e
      }
      let first = try await collector.track(request)
      #expect(first.accepted == 2 && first.rejected.count == 1 && first.rejected[0].index == 1)
      let again = try await collector.track(request)
      #expect(again.accepted == 0 && again.duplicates == 2)
      let error = await #expect(throws: RPCError.self) { try await collector.track(Funnel_V1_TrackRequest()) }
      #expect(error?.code == .invalidArgument)
    }
  }

  @Test func healthAndAdmin() async throws {
    try await Self.withAPI { client, _ in
      let health = Grpc_Health_V1_Health.Client(wrapping: client)
      var check = Grpc_Health_V1_HealthCheckRequest()
      #expect(try await health.check(check).status == .serving)
      check.service = "funnel.v1.Recommender"
      #expect(try await health.check(check).status == .serving)
      check.service = "no.such.Service"
      let error = await #expect(throws: RPCError.self) { try await health.check(check) }
      #expect(error?.code == .notFound)

      let admin = Funnel_V1_Admin.Client(wrapping: client)
      let status = try await admin.status(Funnel_V1_StatusRequest())
      #expect(status.itemCount == 400 && status.featureStore == "embedded" && status.eventCount > 0)
      let reload = try await admin.reload(Funnel_V1_ReloadRequest())
      #expect(reload.previousIndexVersion == "test-1" && reload.indexVersion != "test-1")
      var forget = Funnel_V1_ForgetUserRequest()
      forget.userID = "U-1"
      _ = try await admin.forgetUser(forget)
      forget.userID = ""
      let bad = await #expect(throws: RPCError.self) { try await admin.forgetUser(forget) }
      #expect(bad?.code == .invalidArgument)
    }
  }

  /// Random garbage in every field: never a crash, never an INTERNAL error.
  @Test func survivesRandomMalformedRequests() async throws {
    try await Self.withAPI { client, _ in
      let recommender = Funnel_V1_Recommender.Client(wrapping: client)
      var rng = SystemRandomNumberGenerator()
      func junk() -> String {
        let alphabet = Array("ab:()[]\"*-<>= ANDORNOTTO\u{0}\u{7f}é😀/")
        return String((0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
      }
      for _ in 0..<300 {
        var request = Funnel_V1_RecommendRequest()
        request.userID = Bool.random(using: &rng) ? junk() : String(repeating: "x", count: Int.random(in: 0...400, using: &rng))
        request.scene = .UNRECOGNIZED(Int.random(in: 0...7, using: &rng))
        request.count = UInt32.random(in: 0...2000, using: &rng)
        request.filter = junk()
        request.excludeItemIds = (0..<Int.random(in: 0...3, using: &rng)).map { _ in junk() }
        request.anchorItemIds = (0..<Int.random(in: 0...2, using: &rng)).map { _ in junk() }
        do {
          _ = try await recommender.recommend(request)
        } catch let error as RPCError {
          #expect([.invalidArgument, .notFound].contains(error.code), "\(error)")
        }
      }
      var ok = Funnel_V1_RecommendRequest()
      ok.userID = "U-1"
      ok.scene = .home
      #expect(try await recommender.recommend(ok).items.count == 20)
    }
  }
}
