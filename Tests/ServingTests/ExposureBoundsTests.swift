import FeatureStore
import FunnelCore
import Serving
import Testing

/// Exposures are kept within bytes, not only counts: an answer of 1,000 items with its features is
/// ~100 times one of 10, and clients choose the size.
@Suite struct ExposureBoundsTests {
  static func exposure(_ i: Int, items: Int, user: String = "u") -> Exposure {
    Exposure(requestID: "r\(1_000 + i)", userID: user, sessionID: "", scene: "home", arm: "default", modelVersion: "m",
             timestampMs: Int64(i), items: (0..<items).map { "item-\($0)" }, featureNames: ["a", "b", "c", "d"],
             features: (0..<items).map { _ in [1, 2, 3, 4] })
  }

  @Test func theMemoryLogKeepsTheNewestWithinItsBytes() async throws {
    let big = Self.exposure(0, items: 1_000)
    #expect(big.approximateBytes > 30_000)
    let log = MemoryExposureLog(capacity: 1_000_000, maxBytes: 10 * big.approximateBytes)
    for i in 0..<100 { try await log.write([Self.exposure(i, items: 1_000)]) }
    let kept = try await log.exposures(sinceMs: 0)
    #expect(kept.count == 10 && kept.map(\.timestampMs) == Array(90..<100).map(Int64.init))
    #expect(log.usage.bytes <= 10 * big.approximateBytes)
    // Small ones fit by the hundred in the same bytes.
    for i in 100..<600 { try await log.write([Self.exposure(i, items: 10)]) }
    #expect(log.usage.count > 100)
    let before = log.usage.count
    #expect(try await log.forget(user: "u") == before)
    #expect(log.usage.count == 0 && log.usage.bytes == 0)
  }

  @Test func theRecorderDropsPastItsBytes() {
    let big = Self.exposure(0, items: 1_000)
    let recorder = ExposureRecorder(capacity: 1_000, maxBytes: 3 * big.approximateBytes)
    let kept = (0..<10).filter { recorder.record(Self.exposure($0, items: 1_000)) }
    #expect(kept == [0, 1, 2])
    #expect(recorder.drain().count == 3)
    #expect(recorder.record(big), "room again after a drain")
  }
}
