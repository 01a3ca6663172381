import Foundation
import FunnelCore
import FunnelServer
import Ingest
import Serving
import Testing

// Rows in the fixtures below are from (or edited from) the UCI Online Retail data set, donated by
// Daqing Chen, CC BY 4.0 (Chen, Sain and Guo 2012); see docs/real-data.md, "Data and licences".

/// `funnel serve --index DIR/index` on a directory written by `funnel ingest`: the customers'
/// pre-cut-off histories are in the store and the clock runs from the data's time, so answers use
/// them (a wholesale customer's own purchases come back through the repeat channel).
@Suite struct ReplayServingTests {
  static let csv = """
    InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
    536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
    536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom
    536366,71053,WHITE METAL LANTERN,2,2010-12-01 09:00:00,3.39,13047,United Kingdom
    536366,22633,HAND WARMER UNION JACK,6,2010-12-01 09:00:00,1.85,13047,United Kingdom
    536367,22632,HAND WARMER RED POLKA DOT,6,2010-12-03 09:00:00,1.85,17850,United Kingdom
    """

  @Test func anIngestedIndexServesAsOfItsTimeWithTheHistories() async throws {
    let input = NSTemporaryDirectory() + "replay-\(UUID().uuidString).csv"
    let out = NSTemporaryDirectory() + "replay-out-\(UUID().uuidString)"
    try Self.csv.write(toFile: input, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: input); try? FileManager.default.removeItem(atPath: out) }
    let cutoff = OnlineRetail.dayStartMs(year: 2010, month: 12, day: 2)
    try IngestOutput.write(try OnlineRetail.ingest(path: input), to: out, asOfMs: cutoff)

    let wall = { @Sendable in Int64(1_790_000_000_000) }
    let replay = try ReplayState(indexDirectory: out + "/index", serving: ServingConfiguration(), wall: wall)
    #expect(replay.settings?.asOfMs == cutoff && replay.now() == cutoff, "the clock starts at the data's time")
    #expect(replay.history.count == 4 && replay.serving.recentInteractions == 500, "only the events before the cut-off")
    let source = IndexDirectorySource(root: out + "/index", verifyChecksums: true)
    let generation = try await source.loadGeneration()
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: source,
                               activity: replay.store, events: replay.store, storeName: "embedded", now: replay.now), configuration: replay.serving)
    let answer = try await engine.recommend(RecommendInput(userID: "17850", scene: .email, count: 5))
    let repeats = answer.items.filter { $0.channels.contains("repeat") }.map(\.itemID)
    #expect(Set(repeats) == ["85123A", "71053"], "\(answer.items)")
    #expect(!replay.history.contains { $0.itemID == "22632" } && !repeats.contains("22632"), "bought after the cut-off")

    // A directory of its own without replay.json (the shared temporary directory may hold anything).
    let plain = try ReplayState(indexDirectory: out, serving: ServingConfiguration(), wall: wall)
    #expect(plain.settings == nil && plain.history.isEmpty && plain.now() == 1_790_000_000_000)
  }
}
