import EventArchive
import FeatureStore
import Foundation
import FunnelCore
import FunnelSecurity
import FunnelTestSupport
import RedisStore
import Testing

/// The drain over the real Redis (one server and the cluster, four stream shards): every event is
/// archived exactly once across a drain stopped midway and one killed mid-segment (its half-written
/// file is removed and its events archived by the next drain), forgotten users are left out, a
/// flipped byte fails verification, and a later drain archives only what came since.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI, "REDIS_URL is not set: run Scripts/test"))
struct ArchiveDrainTests {
  @Test(arguments: StoreEnvironment.redisURLs) func everyEventOnceAcrossKilledDrains(url: String) async throws {
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let client = try RedisClient(url: url)
    let stream = RedisEventStream(client: client, store: RedisFeatureStore(client: client, keyPrefix: prefix), shards: 4)
    let root = NSTemporaryDirectory() + "funnel-archive-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let events = (0..<1_000).map { i in
      BehaviourEvent(eventID: "e\(i)", userID: "user-\(i % 37)", itemID: "SKU-\(i % 50)", kind: .view, timestampMs: now - Int64(i) * 1_000)
    }
    for chunk in stride(from: 0, to: events.count, by: 100) { _ = try await stream.append(Array(events[chunk..<chunk + 100])) }
    let forgotten: Set<String> = [UserIDDigest.hex("user-5")]
    let archive = EventArchive(root: root)
    let drain = ArchiveDrain(archive: archive, stream: stream, batch: 60)

    // A drain stopped after three segments, then one killed while writing the fourth (a data file
    // without its manifest, as a kill between the two renames leaves).
    let first = try await drain.run(tombstones: forgotten, maxSegments: 3)
    #expect(first.segments == 3)
    let last = try #require(try archive.segments().last)
    let orphan = root + "/" + last.hour + "/" + String(format: "%010d", last.sequence + 1) + ".jsonl.gz"
    try Data("half a segment".utf8).write(to: URL(fileURLWithPath: orphan))
    let rest = try await drain.run(tombstones: forgotten)
    // The half-written file is removed; its number goes to the segment written in its place.
    #expect(rest.removed == 1)
    #expect(try archive.segments().contains { $0.sequence == last.sequence + 1 && archive.verify($0) == nil })

    var archived: [String] = []
    for segment in try archive.segments() { archived += try archive.read(segment).map(\.eventID) }
    let expected = events.filter { $0.userID != "user-5" }.map(\.eventID)
    #expect(archived.count == expected.count, "\(archived.count) archived, \(expected.count) expected")
    #expect(Set(archived) == Set(expected), "none lost")
    #expect(Set(archived).count == archived.count, "none twice")
    #expect(first.forgotten + rest.forgotten == events.count - expected.count)
    for segment in try archive.segments() { #expect(archive.verify(segment) == nil) }

    // Nothing new: nothing written. New events: only they are archived.
    #expect(try await drain.run(tombstones: forgotten).segments == 0)
    let later = (0..<10).map { BehaviourEvent(eventID: "later\($0)", userID: "user-1", itemID: "SKU-1", kind: .purchase, timestampMs: now) }
    _ = try await stream.append(later)
    let third = try await drain.run(tombstones: forgotten)
    #expect(third.events == 10)

    // A flipped byte is caught.
    let victim = try #require(try archive.segments().first)
    let path = root + "/" + victim.hour + "/" + String(format: "%010d", victim.sequence) + ".jsonl.gz"
    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
    bytes[bytes.count / 2] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let fault = try #require(archive.verify(victim))
    #expect(fault.contains("CRC-32C"), "\(fault)")
    for key in stream.streamKeys { _ = try await client.command(["DEL", key]) }
  }
}
