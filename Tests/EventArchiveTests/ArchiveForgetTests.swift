import EventArchive
import Foundation
import FunnelCore
import Testing

/// Users forgotten after their events were archived leave the archive: the segments holding them are
/// rewritten in place (checksummed anew, counts moved to `forgotten`), and a rewrite a kill
/// interrupted is settled either way.
@Suite struct ArchiveForgetTests {
  static func archive(_ segments: Int) throws -> (EventArchive, String) {
    let root = NSTemporaryDirectory() + "funnel-forget-\(UUID().uuidString)"
    let archive = EventArchive(root: root)
    var previous: EventArchive.Segment?
    for s in 0..<segments {
      let events = (0..<50).map { i in
        BehaviourEvent(eventID: "s\(s)-\(i)", userID: "user-\(i % 5)", itemID: "SKU-\(i)", kind: .view,
                       timestampMs: 1_790_000_000_000 + Int64(s * 3_600_000 + i))
      }
      previous = try archive.append(events, hour: EventArchive.hour(ofMs: events[0].timestampMs), forgotten: 0,
                                    positions: ["k": "\(s)-0"], after: previous)
    }
    return (archive, root)
  }

  @Test func forgottenUsersLeaveEverySegmentAndTheRestStaysVerified() throws {
    let (archive, root) = try Self.archive(3)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let before = try archive.segments()
    let (segments, events) = try archive.forget { $0 == "user-2" }
    #expect(segments == 3 && events == 30)
    let after = try archive.segments()
    #expect(after.map(\.sequence) == before.map(\.sequence) && after.map(\.positions) == before.map(\.positions),
            "numbers and checkpoints unchanged")
    for segment in after {
      #expect(archive.verify(segment) == nil)
      #expect(segment.events == 40 && segment.forgotten == 10)
      #expect(try archive.read(segment).allSatisfy { $0.userID != "user-2" })
    }
    #expect(try archive.forget { $0 == "user-2" } == (0, 0), "nothing left to remove")
  }

  @Test func aRewriteInterruptedByAKillIsSettled() throws {
    let (archive, root) = try Self.archive(1)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let segment = try #require(try archive.segments().first)
    let manifest = root + "/" + segment.hour + "/" + String(format: "%010d", segment.sequence) + ".json"
    let data = String(manifest.dropLast(5)) + ".jsonl.gz"
    let original = (try Data(contentsOf: URL(fileURLWithPath: manifest)), try Data(contentsOf: URL(fileURLWithPath: data)))
    // Rewrite, keep the new files, then put the old ones back as a kill at each point would leave them.
    _ = try archive.forget { $0 == "user-1" }
    let rewritten = (try Data(contentsOf: URL(fileURLWithPath: manifest)), try Data(contentsOf: URL(fileURLWithPath: data)))

    // Killed after the new manifest was put aside, before the data moved: the old segment holds.
    try original.0.write(to: URL(fileURLWithPath: manifest))
    try original.1.write(to: URL(fileURLWithPath: data))
    try rewritten.0.write(to: URL(fileURLWithPath: manifest + ".new"))
    try archive.removeIncomplete()
    #expect(try archive.segments().first == segment && archive.verify(segment) == nil)
    #expect(!FileManager.default.fileExists(atPath: manifest + ".new"))

    // Killed after the data moved, before the manifest: the new segment is completed.
    try rewritten.1.write(to: URL(fileURLWithPath: data))
    try rewritten.0.write(to: URL(fileURLWithPath: manifest + ".new"))
    try archive.removeIncomplete()
    let settled = try #require(try archive.segments().first)
    #expect(settled.events == 40 && archive.verify(settled) == nil)
  }
}
