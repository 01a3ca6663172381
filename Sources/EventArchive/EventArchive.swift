import CompressNIO
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import NIOCore

/// The event archive: immutable, checksummed, gzip-compressed segments of behaviour events in the
/// catalog tools' JSON-lines format, one or more per hour of acceptance, under `root`:
///
///     root/YYYYMMDD/HH/NNNNNNNNNN.jsonl.gz     the events (gzip of JSON lines, `funnel index build --events` format)
///     root/YYYYMMDD/HH/NNNNNNNNNN.json         the segment's manifest: counts, times, CRC-32C, stream positions
///
/// Segment numbers grow across the whole archive. A segment exists once its manifest does: the data
/// file is renamed into place first, the manifest last, so a drain killed in between leaves a data
/// file without a manifest, which the next drain deletes (its events are read again). Each manifest
/// records the event stream positions it reaches, so the newest manifest is the drain's checkpoint:
/// no event is lost or archived twice. JSON lines were chosen over a columnar format: the archive is
/// written once and read whole by index builds and training, which read JSON lines already, and any
/// tool (zcat, jq) reads it. Not thread-safe: one drain per archive.
public struct EventArchive: Sendable {
  /// A segment's manifest.
  public struct Segment: Codable, Sendable, Equatable {
    /// The segment number (order of writing).
    public var sequence: Int
    /// The hour of acceptance, `YYYYMMDD/HH` (UTC).
    public var hour: String
    public var events: Int
    /// Events left out because their user was forgotten (tombstones) when drained.
    public var forgotten: Int
    /// Earliest and latest event time (Unix ms) in the segment.
    public var firstEventMs: Int64
    public var lastEventMs: Int64
    /// Size and CRC-32C of the compressed file.
    public var bytes: Int
    public var crc32c: UInt32
    /// The stream position (entry id) reached in each shard's stream, by stream key.
    public var positions: [String: String]
  }

  public let root: String
  /// Largest decompressed segment read back (a corrupt length cannot make a reader allocate more).
  public static let maxSegmentBytes = 1 << 30

  public init(root: String) { self.root = root }

  /// Every complete segment, oldest first. O(segments).
  public func segments() throws -> [Segment] {
    let fm = FileManager.default
    guard fm.fileExists(atPath: root) else { return [] }
    var out: [Segment] = []
    for day in try fm.contentsOfDirectory(atPath: root).sorted() where day.count == 8 && day.allSatisfy(\.isNumber) {
      for hour in try fm.contentsOfDirectory(atPath: root + "/" + day).sorted() {
        let dir = root + "/" + day + "/" + hour
        for name in try fm.contentsOfDirectory(atPath: dir) where name.hasSuffix(".json") {
          let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
          do {
            out.append(try JSONDecoder().decode(Segment.self, from: data))
          } catch {
            throw FunnelError(.failedPrecondition, "\(dir)/\(name): not a segment manifest (\(error))")
          }
        }
      }
    }
    return out.sorted { $0.sequence < $1.sequence }
  }

  func dataPath(_ s: Segment) -> String { root + "/" + s.hour + "/" + String(format: "%010d", s.sequence) + ".jsonl.gz" }
  func manifestPath(_ s: Segment) -> String { root + "/" + s.hour + "/" + String(format: "%010d", s.sequence) + ".json" }

  /// Deletes data files without a manifest (a drain killed mid-segment) and finishes or undoes a
  /// rewrite a kill interrupted (`forget`); returns the paths deleted.
  @discardableResult
  public func removeIncomplete() throws -> [String] {
    let fm = FileManager.default
    guard fm.fileExists(atPath: root) else { return [] }
    var removed: [String] = []
    guard let walker = fm.enumerator(atPath: root) else { return [] }
    var rewrites: [String] = []
    for case let path as String in walker {
      let full = root + "/" + path
      if path.hasSuffix(".json.new") {
        rewrites.append(full)
      } else if path.hasSuffix(".tmp") || (path.hasSuffix(".jsonl.gz") && !fm.fileExists(atPath: String(full.dropLast(".jsonl.gz".count)) + ".json")) {
        try fm.removeItem(atPath: full)
        removed.append(full)
      }
    }
    for pending in rewrites {
      // The data file was replaced in one rename: it is either the old one (the old manifest holds)
      // or the new one (the pending manifest does).
      let manifest = String(pending.dropLast(".new".count))
      let data = String(manifest.dropLast(".json".count)) + ".jsonl.gz"
      if let segment = try? JSONDecoder().decode(Segment.self, from: Data(contentsOf: URL(fileURLWithPath: pending))),
         let bytes = fm.contents(atPath: data), CRC32C.checksum(bytes) == segment.crc32c {
        guard rename(pending, manifest) == 0 else {
          throw FunnelError(.failedPrecondition, "cannot rename \(pending) to \(manifest): \(String(cString: strerror(errno)))")
        }
      } else {
        try fm.removeItem(atPath: pending)
        removed.append(pending)
      }
    }
    return removed
  }

  /// Rewrites every segment holding events of users `isForgotten` picks without them (a user
  /// forgotten after their events were archived), each segment in place under its number with a new
  /// manifest (its count of forgotten events grown); returns (segments rewritten, events removed).
  /// A kill mid-rewrite leaves the segment whole, old or new (`removeIncomplete` settles which).
  /// O(archive): every segment is read.
  public func forget(where isForgotten: (String) -> Bool) throws -> (segments: Int, events: Int) {
    try removeIncomplete()
    var (rewritten, dropped) = (0, 0)
    for segment in try segments() {
      let events = try read(segment)
      let kept = events.filter { !isForgotten($0.userID) }
      guard kept.count < events.count else { continue }
      let bytes = try Self.compress(kept, scratch: root + "/" + segment.hour + "/\(segment.sequence).forget.tmp")
      var replaced = segment
      replaced.events = kept.count
      replaced.forgotten += events.count - kept.count
      replaced.bytes = bytes.count
      replaced.crc32c = CRC32C.checksum(bytes)
      if !kept.isEmpty {
        replaced.firstEventMs = kept.map(\.timestampMs).min()!
        replaced.lastEventMs = kept.map(\.timestampMs).max()!
      }
      // New manifest aside, then the data in one rename, then the manifest in one rename.
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try Self.writeDurably(try encoder.encode(replaced), to: manifestPath(segment) + ".new")
      try Self.writeDurably(Data(bytes), to: dataPath(segment))
      guard rename(manifestPath(segment) + ".new", manifestPath(segment)) == 0 else {
        throw FunnelError(.failedPrecondition, "cannot rename \(manifestPath(segment)).new: \(String(cString: strerror(errno)))")
      }
      rewritten += 1
      dropped += events.count - kept.count
    }
    return (rewritten, dropped)
  }

  /// `events` as gzip of JSON lines (written through `scratch`, removed after).
  static func compress(_ events: [BehaviourEvent], scratch: String) throws -> [UInt8] {
    var writer = try JSONLinesWriter(path: scratch)
    for event in events { try writer.write(event) }
    try writer.close()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var buffer = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: scratch)))
    let compressed = try buffer.compress(with: .gzip())
    return Array(compressed.readableBytesView)
  }

  /// Writes `events` (accepted within one hour `hour`, `YYYYMMDD/HH`) as the segment after
  /// `previous` (the archive's newest, nil for a new archive), reaching `positions`; returns its
  /// manifest. The data file is complete on disk before the manifest appears. Throws
  /// `failedPrecondition` naming the path on I/O errors.
  public func append(_ events: [BehaviourEvent], hour: String, forgotten: Int, positions: [String: String],
                     after previous: Segment?) throws -> Segment {
    let sequence = (previous?.sequence ?? 0) + 1
    let dir = root + "/" + hour
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let bytes = try Self.compress(events, scratch: dir + "/\(sequence).plain.tmp")
    let segment = Segment(sequence: sequence, hour: hour, events: events.count, forgotten: forgotten,
                          firstEventMs: events.map(\.timestampMs).min() ?? 0, lastEventMs: events.map(\.timestampMs).max() ?? 0,
                          bytes: bytes.count, crc32c: CRC32C.checksum(bytes), positions: positions)
    try Self.writeDurably(Data(bytes), to: dataPath(segment))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try Self.writeDurably(try encoder.encode(segment), to: manifestPath(segment))
    return segment
  }

  /// Writes `data` to `path` through a temporary file, flushed to disk, renamed into place.
  static func writeDurably(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: data),
          let handle = FileHandle(forWritingAtPath: temporary) else {
      throw FunnelError(.failedPrecondition, "cannot write \(temporary)")
    }
    try handle.synchronize()
    try handle.close()
    guard rename(temporary, path) == 0 else {
      throw FunnelError(.failedPrecondition, "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
    }
  }

  /// Checks `segment`'s file against its manifest (size, CRC-32C, that it decompresses to as many
  /// events). Returns nil when it is sound, else what is wrong.
  public func verify(_ segment: Segment) -> String? {
    let path = dataPath(segment)
    guard let data = FileManager.default.contents(atPath: path) else { return "\(path): missing" }
    guard data.count == segment.bytes else { return "\(path): \(data.count) bytes, the manifest says \(segment.bytes)" }
    let crc = CRC32C.checksum(data)
    guard crc == segment.crc32c else { return "\(path): CRC-32C \(crc), the manifest says \(segment.crc32c)" }
    do {
      let events = try read(segment)
      guard events.count == segment.events else { return "\(path): \(events.count) events, the manifest says \(segment.events)" }
    } catch {
      return "\(path): \(error)"
    }
    return nil
  }

  /// The events of `segment`, in archive order. Throws when the file is corrupt.
  public func read(_ segment: Segment) throws -> [BehaviourEvent] {
    let path = dataPath(segment)
    guard let data = FileManager.default.contents(atPath: path) else { throw FunnelError(.notFound, "\(path): missing") }
    var buffer = ByteBuffer(bytes: data)
    let plain: ByteBuffer
    do {
      plain = try buffer.decompress(with: .gzip(), maxSize: Self.maxSegmentBytes)
    } catch {
      throw FunnelError(.failedPrecondition, "\(path): does not decompress (\(error))")
    }
    let temporary = NSTemporaryDirectory() + "funnel-archive-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: temporary) }
    guard FileManager.default.createFile(atPath: temporary, contents: Data(plain.readableBytesView)) else {
      throw FunnelError(.failedPrecondition, "cannot write \(temporary)")
    }
    var events: [BehaviourEvent] = []
    _ = try JSONLines.forEachEventBatch(path: temporary) { events += $0 }
    return events
  }

  /// Deletes the segments of hours before `beforeMs` (retention); returns how many.
  @discardableResult
  public func prune(beforeMs: Int64) throws -> Int {
    let cutoff = Self.hour(ofMs: beforeMs)
    var removed = 0
    // The newest segment stays whatever its hour: it is the drain's checkpoint.
    let all = try segments()
    for segment in all.dropLast() where segment.hour < cutoff {
      try? FileManager.default.removeItem(atPath: dataPath(segment))
      try FileManager.default.removeItem(atPath: manifestPath(segment))
      removed += 1
    }
    return removed
  }

  /// `YYYYMMDD/HH` (UTC) of Unix ms `ms`.
  public static func hour(ofMs ms: Int64) -> String {
    var t = time_t(ms / 1000)
    var parts = tm()
    gmtime_r(&t, &parts)
    return String(format: "%04d%02d%02d/%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour)
  }
}
