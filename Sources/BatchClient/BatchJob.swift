import Foundation
import FunnelCore
import FunnelGRPC
import FunnelJSON
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// Streams users through `Recommender.BatchRecommend` and writes one JSON line per user (answers,
/// or an error line for a bad user, continuing), in input order. Users go in chunks, each one
/// stream; up to `concurrency` chunks are in flight and chunks are written in order, so memory is
/// bounded by `concurrency * chunkSize` answers whatever the input size.
///
/// Resumable: after each written chunk a checkpoint beside the output (`OUT.checkpoint`: rows done
/// and output bytes) is replaced atomically; `resume` truncates the output to the checkpoint's
/// length and skips the rows done, so nothing is redone or duplicated.
///
/// With several targets (replicas, or balancers), chunk i goes to target i mod count, and a chunk
/// answered UNAVAILABLE (a replica restarting or draining) is sent again to the next target: its
/// rows are reads, and only complete chunks are written.
public struct BatchJob: Sendable {
  /// The servers called (at least one).
  public var targets: [(host: String, port: Int)]
  public var usersPath: String
  public var outputPath: String
  public var scene = Funnel_V1_Scene.email
  public var count = 20
  public var concurrency = 4
  public var chunkSize = 2_000
  public var resume = false
  /// TLS and credential of the connection.
  public var security = ClientSecurity()

  /// A job for `usersPath` into `outputPath` against `host:port`.
  public init(host: String, port: Int, usersPath: String, outputPath: String) {
    self.init(targets: [(host, port)], usersPath: usersPath, outputPath: outputPath)
  }

  /// A job spread over `targets` (at least one).
  public init(targets: [(host: String, port: Int)], usersPath: String, outputPath: String) {
    precondition(!targets.isEmpty, "a batch job needs a target")
    self.targets = targets
    self.usersPath = usersPath
    self.outputPath = outputPath
  }

  /// What a run did.
  public struct Summary: Sendable {
    public var rows = 0
    public var errors = 0
    public var skipped = 0
    public var seconds = 0.0
  }

  struct Checkpoint: Codable {
    var rows: Int
    var bytes: UInt64
  }

  var checkpointPath: String { outputPath + ".checkpoint" }

  /// Runs to the end of the users file. `progress(rowsDone, errors, elapsedSeconds)` about once a second.
  public func run(progress: (@Sendable (Int, Int, Double) -> Void)? = nil) async throws -> Summary {
    let fm = FileManager.default
    var checkpoint = Checkpoint(rows: 0, bytes: 0)
    if resume, let data = fm.contents(atPath: checkpointPath) {
      guard let saved = try? JSONDecoder().decode(Checkpoint.self, from: data) else {
        throw FunnelError(.invalidArgument, "\(checkpointPath): not a checkpoint; remove it to start over")
      }
      checkpoint = saved
    } else if fm.fileExists(atPath: outputPath), !resume {
      throw FunnelError(.failedPrecondition, "\(outputPath) exists: pass --resume to continue it, or remove it")
    }
    if !fm.fileExists(atPath: outputPath), !fm.createFile(atPath: outputPath, contents: nil) {
      throw FunnelError(.failedPrecondition, "\(outputPath): cannot create")
    }
    guard let out = FileHandle(forWritingAtPath: outputPath) else { throw FunnelError(.failedPrecondition, "\(outputPath): cannot write") }
    defer { try? out.close() }
    try out.truncate(atOffset: checkpoint.bytes)  // drop a chunk half-written before an interruption
    try out.seekToEnd()

    let users = try UserFile(path: usersPath)
    for _ in 0..<checkpoint.rows { _ = try users.next() }
    var summary = Summary(skipped: checkpoint.rows)
    let clock = ContinuousClock()
    let start = clock.now
    var lastProgress = start
    let clients = try targets.map { target in
      GRPCClient(transport: try HTTP2ClientTransport.Posix(target: .dns(host: target.host, port: target.port),
                                                           transportSecurity: security.transportSecurity),
                 interceptors: security.interceptors)
    }
    let services = clients.map { Funnel_V1_Recommender.Client(wrapping: $0) }
    let job = self
    try await withThrowingTaskGroup(of: Void.self) { connections in
      for client in clients { connections.addTask { try await client.runConnections() } }
      defer { for client in clients { client.beginGracefulShutdown() } }
      try await withThrowingTaskGroup(of: (Int, Data, Int, Int).self) { group in
        var submitted = 0, written = 0
        var ready: [Int: (Data, Int, Int)] = [:]
        func drain() async throws {
          guard let (index, lines, rows, errors) = try await group.next() else { return }
          ready[index] = (lines, rows, errors)
          while let (lines, rows, errors) = ready.removeValue(forKey: written) {
            try out.write(contentsOf: lines)
            checkpoint.rows += rows
            checkpoint.bytes += UInt64(lines.count)
            try job.save(checkpoint)
            summary.rows += rows
            summary.errors += errors
            written += 1
            if let progress, clock.now - lastProgress >= .seconds(1) {
              lastProgress = clock.now
              progress(summary.rows, summary.errors, (clock.now - start) / .seconds(1))
            }
          }
        }
        while true {
          var chunk: [String] = []
          while chunk.count < job.chunkSize, let user = try users.next() { chunk.append(user) }
          if chunk.isEmpty { break }
          while submitted - written >= job.concurrency { try await drain() }
          let index = submitted
          submitted += 1
          let rows = chunk
          group.addTask {
            let (lines, count, errors) = try await job.answer(rows, chunk: index, services: services)
            return (index, lines, count, errors)
          }
        }
        while written < submitted { try await drain() }
      }
      for client in clients { client.beginGracefulShutdown() }
      try await connections.waitForAll()
    }
    summary.seconds = (clock.now - start) / .seconds(1)
    return summary
  }

  /// Chunk number `chunk` on its target, once more on the next after UNAVAILABLE.
  private func answer(_ users: [String], chunk: Int, services: [Funnel_V1_Recommender.Client<HTTP2ClientTransport.Posix>])
    async throws -> (Data, Int, Int)
  {
    do {
      return try await answer(users, service: services[chunk % services.count])
    } catch let error as RPCError where error.code == .unavailable && services.count > 1 {
      return try await answer(users, service: services[(chunk + 1) % services.count])
    }
  }

  /// One chunk through one stream: the JSON lines, rows and error rows.
  private func answer(_ users: [String], service: Funnel_V1_Recommender.Client<HTTP2ClientTransport.Posix>) async throws
    -> (Data, Int, Int)
  {
    let rows: [Funnel_V1_BatchRecommendRequest] = users.enumerated().map { i, user in
      var row = Funnel_V1_BatchRecommendRequest()
      row.rowID = String(i)
      row.request.userID = user
      row.request.scene = scene
      row.request.count = UInt32(count)
      return row
    }
    let answers = try await service.batchRecommend(
      request: StreamingClientRequest(of: Funnel_V1_BatchRecommendRequest.self) { try await $0.write(contentsOf: rows) }
    ) { response in
      var collected: [Funnel_V1_BatchRecommendResponse] = []
      for try await answer in response.messages { collected.append(answer) }
      return collected
    }
    guard answers.count == users.count else {
      throw FunnelError(.unavailable, "BatchRecommend answered \(answers.count) of \(users.count) rows")
    }
    var lines: [UInt8] = []
    lines.reserveCapacity(users.count * 1_024)
    var errors = 0
    // One line per user, keys in sorted order: error | items, request_id, user_id.
    for (user, answer) in zip(users, answers) {
      lines.append(UInt8(ascii: "{"))
      switch answer.result {
      case .response(let r):
        lines += Array(#""items":["#.utf8)
        for (i, item) in r.items.enumerated() {
          lines += Array((i == 0 ? #"{"item_id":"# : #",{"item_id":"#).utf8)
          JSONText.appendString(item.itemID, to: &lines)
          lines += Array(#","score":"#.utf8)
          JSONText.appendNumber(item.score, to: &lines)
          lines.append(UInt8(ascii: "}"))
        }
        lines += Array(#"],"request_id":"#.utf8)
        JSONText.appendString(r.requestID, to: &lines)
      case .error(let e):
        Self.appendError(code: e.code, message: e.message, to: &lines)
        errors += 1
      case nil:
        Self.appendError(code: "UNKNOWN", message: "empty answer", to: &lines)
        errors += 1
      }
      lines += Array(#","user_id":"#.utf8)
      JSONText.appendString(user, to: &lines)
      lines += [UInt8(ascii: "}"), 0x0A]
    }
    return (Data(lines), users.count, errors)
  }

  private static func appendError(code: String, message: String, to lines: inout [UInt8]) {
    lines += Array(#""error":{"code":"#.utf8)
    JSONText.appendString(code, to: &lines)
    lines += Array(#","message":"#.utf8)
    JSONText.appendString(message, to: &lines)
    lines.append(UInt8(ascii: "}"))
  }

  private func save(_ checkpoint: Checkpoint) throws {
    try JSONEncoder().encode(checkpoint).write(to: URL(fileURLWithPath: checkpointPath), options: .atomic)
  }
}
