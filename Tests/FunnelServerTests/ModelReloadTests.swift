import FeatureStore
import Foundation
import FunnelCore
import FunnelServer
import FunnelTestSupport
import IndexFormat
import Serving
import Testing

/// Hot model reload from a registry: new versions load before the old one is released, a broken
/// version is refused while the old one serves, and requests running meanwhile never fail.
@Suite struct ModelReloadTests {
  static func write(_ root: String, version: String, body: String) throws {
    let directory = "\(root)/ranker/\(version)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try body.write(toFile: directory + "/model.json", atomically: true, encoding: .utf8)
  }

  static func linear(_ weight: Double) -> String {
    "{\"format\": \"funnel-linear\", \"features\": [\"item_popularity\", \"recall_similar\"], \"weights\": [\(weight), 1], \"bias\": 0}"
  }

  @Test func reloadsUnderTrafficAndRefusesABrokenVersion() async throws {
    let root = NSTemporaryDirectory() + "funnel-models-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try Self.write(root, version: "1", body: Self.linear(1))
    let registry = ModelRegistrySource(root: root, name: "ranker")
    let (base, store) = TestEngines.engine()
    let engine = ServingEngine(dependencies: ServingDependencies(generation: base.generation, generationSource: StaticGenerationSource(generation: base.generation),
                               activity: store, events: store, model: try await registry.loadModel(), modelSource: registry,
                               storeName: "embedded", now: { TestEngines.nowMs }))
    #expect(engine.ranker.model.version == "ranker/1")

    let versions = try await withThrowingTaskGroup(of: String.self) { group in
      for i in 0..<300 {
        group.addTask {
          try await engine.recommend(RecommendInput(userID: "U-\(i % 40 + 1)", scene: .home, count: 10)).modelVersion
        }
      }
      group.addTask {
        for v in 2...10 {
          try Self.write(root, version: "\(v)", body: Self.linear(Double(v)))
          _ = try await engine.reloadModel()
        }
        return "reloader"
      }
      var seen: [String] = []
      for try await v in group { seen.append(v) }
      return seen
    }
    #expect(versions.count == 301, "no request failed")
    #expect(engine.ranker.model.version == "ranker/10")

    try Self.write(root, version: "11", body: "{\"format\": \"funnel-linear\", \"features\": [\"a\"], \"weights\": []}")
    let error = await #expect(throws: FunnelError.self) { try await engine.reloadModel() }
    #expect(error?.message.contains("11/model.json") == true, "\(error?.message ?? "")")
    #expect(engine.ranker.model.version == "ranker/10", "the old version keeps serving")
    #expect(registry.versions() == (1...11).map(String.init), "versions sort numerically")
  }
}

