import BatchClient
import Foundation
import FunnelCore
import FunnelTestSupport
import Testing

/// `funnel batch` against a real HTTP/2 server: one line per user in input order, bad users as error
/// lines, and a resumed run that neither redoes nor duplicates users.
@Suite struct BatchJobTests {
  static func temporary(_ name: String) -> String { NSTemporaryDirectory() + "funnel-batch-\(UUID().uuidString)-\(name)" }

  func withServer(_ body: (Int) async throws -> Void) async throws {
    let (engine, store) = TestEngines.engine()
    try await TestServers.withServer(engine: engine, store: store, body)
  }

  @Test func writesOneLinePerUserInOrderAndResumesWithoutDuplicates() async throws {
    let users = Self.temporary("users.csv"), out = Self.temporary("out.jsonl"), again = Self.temporary("again.jsonl")
    defer { for f in [users, out, again, out + ".checkpoint", again + ".checkpoint"] { try? FileManager.default.removeItem(atPath: f) } }
    let ids = (1...25).map { $0 == 13 ? String(repeating: "x", count: 300) : "U-\($0)" }  // one id too long: an error line
    try ("user_id,segment\n" + ids.map { "\($0),vip" }.joined(separator: "\n") + "\n").write(toFile: users, atomically: true, encoding: .utf8)
    try await withServer { port in
      var job = BatchJob(host: "127.0.0.1", port: port, usersPath: users, outputPath: out)
      job.chunkSize = 4
      job.concurrency = 3
      job.count = 5
      let summary = try await job.run()
      #expect(summary.rows == 25 && summary.errors == 1)
      let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
      let objects = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
      #expect(objects.map { $0["user_id"] as! String } == ids, "input order, one line each")
      #expect((objects[12]["error"] as? [String: Any])?["code"] as? String == "INVALID_ARGUMENT")
      #expect((objects[0]["items"] as? [Any])?.count == 5)

      // An interrupted run: 8 users written and checkpointed, then half a line before the crash.
      let full = try Data(contentsOf: URL(fileURLWithPath: out))
      let eight = lines.prefix(8).map { $0.utf8.count + 1 }.reduce(0, +)
      try (full.prefix(eight) + Data("{\"user_id\":\"U-9\",\"ite".utf8)).write(to: URL(fileURLWithPath: again))
      try Data("{\"rows\":8,\"bytes\":\(eight)}".utf8).write(to: URL(fileURLWithPath: again + ".checkpoint"))
      var resumed = job
      resumed.outputPath = again
      resumed.resume = true
      let second = try await resumed.run()
      #expect(second.skipped == 8 && second.rows == 17)
      let resumedLines = try String(contentsOfFile: again, encoding: .utf8).split(separator: "\n")
      #expect(resumedLines.count == 25)
      #expect(resumedLines.map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["user_id"] as! String } == ids)

      var fresh = job
      fresh.resume = false
      await #expect(throws: FunnelError.self, "an existing output is not overwritten without --resume") { try await fresh.run() }
    }
  }

  @Test func readsJSONLinesUsersAndNamesBadLines() throws {
    let path = Self.temporary("users.jsonl")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "{\"user_id\": \"a\"}\n\n{\"id\": \"b\"}\n{\"name\": 1}\n".write(toFile: path, atomically: true, encoding: .utf8)
    let file = try UserFile(path: path)
    #expect(try file.next() == "a" && file.next() == "b")
    let error = #expect(throws: FunnelError.self) { try file.next() }
    #expect(error?.message.contains(":4:") == true, "\(error?.message ?? "")")
    #expect(UserFile.countLines(path) == 4)
    let csv = Self.temporary("users.csv")
    defer { try? FileManager.default.removeItem(atPath: csv) }
    try "User_ID\r\nU-1\nU-2".write(toFile: csv, atomically: true, encoding: .utf8)
    #expect(UserFile.countLines(csv) == 2, "the header is not a user; the last line has no newline")
  }
}
