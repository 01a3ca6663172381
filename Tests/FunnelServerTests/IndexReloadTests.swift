import DemoCatalog
import FeatureStore
import Foundation
import FunnelCore
import FunnelServer
import FunnelTestSupport
import IndexBuilder
import IndexFormat
import Serving
import Testing

/// Serving from an index directory: a corrupt newer generation is refused and the old one keeps
/// serving; reloads under concurrent traffic drop no request.
@Suite struct IndexReloadTests {
  static func build(_ name: String, under root: String, items: Int = 400) throws -> String {
    try GenerationBuilder().build(items: Array(TestEngines.store.items.prefix(items)), events: TestEngines.store.events,
                                  nowMs: TestEngines.nowMs, version: name).write(under: root)
  }

  static func engine(root: String) async throws -> ServingEngine {
    let source = IndexDirectorySource(root: root, verifyChecksums: true)
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    return ServingEngine(dependencies: ServingDependencies(generation: try await source.loadGeneration(), generationSource: source, activity: store,
                         events: store, storeName: "embedded", now: { TestEngines.nowMs }))
  }

  @Test func corruptGenerationIsRefusedAndTheOldOneKeepsServing() async throws {
    let root = NSTemporaryDirectory() + "funnel-reload-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try Self.build("gen-1", under: root)
    let engine = try await Self.engine(root: root)
    #expect(engine.generation.version == "gen-1")

    let bad = try Self.build("gen-2", under: root)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bad + "/neighbours.fnl")))
    bytes[bytes.count / 3] ^= 0xFF
    try Data(bytes).write(to: URL(fileURLWithPath: bad + "/neighbours.fnl"))
    let error = await #expect(throws: FunnelError.self) { try await engine.reload() }
    #expect(error?.message.contains("neighbours.fnl") == true, "\(error?.message ?? "")")
    #expect(engine.generation.version == "gen-1")
    #expect(try await engine.recommend(RecommendInput(userID: "U-1", scene: .home, count: 5)).indexVersion == "gen-1")

    _ = try Self.build("gen-3", under: root, items: 300)
    #expect(try await engine.reload() == (previous: "gen-1", current: "gen-3"))
    #expect(engine.generation.itemCount == 300)
  }

  @Test func reloadsUnderTrafficDropNoRequest() async throws {
    let root = NSTemporaryDirectory() + "funnel-reload-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    _ = try Self.build("gen-01", under: root)
    let engine = try await Self.engine(root: root)
    let versions = try await withThrowingTaskGroup(of: String.self) { group in
      for i in 0..<200 {
        group.addTask {
          try await engine.recommend(RecommendInput(userID: "U-\(i % 50 + 1)", scene: .home, count: 10)).indexVersion
        }
      }
      group.addTask {
        for g in 2...6 {
          _ = try Self.build(String(format: "gen-%02d", g), under: root, items: 400 - g * 10)
          _ = try await engine.reload()
        }
        return "reloader"
      }
      var seen: [String] = []
      for try await v in group { seen.append(v) }
      return seen
    }
    #expect(versions.count == 201, "every request answered")
    #expect(engine.generation.version == "gen-06")
  }
}
