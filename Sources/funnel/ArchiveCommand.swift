import ArgumentParser
import EventArchive
import Foundation
import FunnelCore
import FunnelSecurity
import IndexBuilder
import RedisStore

/// `funnel archive`: the event archive (hourly, checksummed, compressed segments of the event stream).
struct ArchiveCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "archive", abstract: "Drain the event stream into an archive of hourly segments, and list, verify, export or prune it.",
    discussion: """
      A segment is a gzip file of event JSON lines (the format `funnel index build --events` reads) with a \
      manifest (counts, times, CRC-32C, the stream positions it reaches). `drain` resumes where the last \
      complete segment ends, so a killed drain loses and repeats nothing; forgotten users' events are left \
      out (ForgetUser's tombstones), `forget` rewrites the segments holding events of users forgotten since, \
      and `export` leaves them out too.
      """,
    subcommands: [ArchiveDrainCommand.self, ArchiveList.self, ArchiveVerify.self, ArchiveExport.self, ArchivePrune.self,
                  ArchiveForget.self])
}

struct ArchiveDrainCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "drain", abstract: "Archive the events the stream holds beyond the archive's positions.")
  @Option(help: "The servers' Redis URL.") var redis: String
  @Option(help: "Archive directory.") var dir: String
  @Option(help: "Entries read per shard per segment.") var batch = 20_000

  func run() async throws {
    do {
      let client = try RedisClient(url: redis, timeoutMs: 10_000)
      let stream = try await RedisEventStream.discover(client: client, store: RedisFeatureStore(client: client))
      let tombstones = try await RedisErasureLog(client: client).tombstones()
      let outcome = try await ArchiveDrain(archive: EventArchive(root: dir), stream: stream, batch: batch).run(tombstones: tombstones)
      print("archived \(outcome.events) events in \(outcome.segments) segments (\(outcome.forgotten) of forgotten users left out"
            + (outcome.removed > 0 ? "; removed \(outcome.removed) incomplete files of a killed drain)" : ")"))
    } catch let error as FunnelError {
      throw ValidationError(error.message)
    } catch {
      throw ValidationError("\(RedisDeployment.redacted(redis)): \(error)")
    }
  }
}

struct ArchiveList: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the segments: number, hour, events, bytes, event times.")
  @Option(help: "Archive directory.") var dir: String

  func run() async throws {
    let segments = try EventArchive(root: dir).segments()
    for s in segments {
      print("\(s.sequence) \(s.hour) events=\(s.events) forgotten=\(s.forgotten) bytes=\(s.bytes) first_ms=\(s.firstEventMs) last_ms=\(s.lastEventMs)")
    }
    print("\(segments.count) segments, \(segments.reduce(0) { $0 + $1.events }) events, \(segments.reduce(0) { $0 + $1.bytes }) bytes")
  }
}

struct ArchiveVerify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every segment against its manifest (size, CRC-32C, events); exit 1 on a fault.")
  @Option(help: "Archive directory.") var dir: String

  func run() async throws {
    let archive = EventArchive(root: dir)
    let segments = try archive.segments()
    var faults = 0
    for segment in segments {
      if let fault = archive.verify(segment) {
        print("FAULT \(fault)")
        faults += 1
      }
    }
    print("\(segments.count) segments checked, \(faults) faulty")
    if faults > 0 { throw ExitCode(1) }
  }
}

struct ArchiveExport: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "export", abstract: "Write the archived events as one JSON-lines file (for index builds and training).")
  @Option(help: "Archive directory.") var dir: String
  @Option(help: "Output events JSON lines.") var out: String
  @Option(help: "Only events at or after this time (Unix ms).") var fromMs: Int64?
  @Option(help: "Only events before this time (Unix ms).") var toMs: Int64?
  @OptionGroup var forgotten: TombstoneOptions

  func run() async throws {
    let archive = EventArchive(root: dir)
    let tombstones = try await forgotten.load()
    var writer = try JSONLinesWriter(path: out)
    var written = 0
    for segment in try archive.segments() {
      if let fromMs, segment.lastEventMs < fromMs { continue }
      if let toMs, segment.firstEventMs >= toMs { continue }
      for event in try archive.read(segment) {
        if let fromMs, event.timestampMs < fromMs { continue }
        if let toMs, event.timestampMs >= toMs { continue }
        if TombstoneOptions.forgotten(event.userID, in: tombstones) { continue }
        try writer.write(event)
        written += 1
      }
    }
    try writer.close()
    print("wrote \(written) events to \(out)")
  }
}

struct ArchivePrune: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "prune", abstract: "Delete segments older than the retention (the newest segment always stays: it is the drain's checkpoint).")
  @Option(help: "Archive directory.") var dir: String
  @Option(help: "Keep the hours within this many hours of now.") var retentionHours: Int

  func run() async throws {
    guard retentionHours > 0 else { throw ValidationError("--retention-hours must be positive") }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let removed = try EventArchive(root: dir).prune(beforeMs: now - Int64(retentionHours) * 3_600_000)
    print("removed \(removed) segments")
  }
}

struct ArchiveForget: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "forget",
    abstract: "Rewrite the segments holding events of forgotten users without them (each segment in place, checksummed anew).")
  @Option(help: "Archive directory.") var dir: String
  @OptionGroup var forgotten: TombstoneOptions

  func run() async throws {
    guard forgotten.tombstones != nil else { throw ValidationError("--tombstones is required: the servers' Redis URL or a digest file") }
    let digests = try await forgotten.load()
    do {
      let (segments, events) = try EventArchive(root: dir).forget { TombstoneOptions.forgotten($0, in: digests) }
      print("rewrote \(segments) segments without \(events) events of forgotten users")
    } catch let error as FunnelError {
      throw ValidationError(error.message)
    }
  }
}
