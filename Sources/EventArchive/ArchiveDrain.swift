import FeatureStore
import FunnelCore
import FunnelSecurity
import RedisStore

/// Drains the event stream into an `EventArchive`: reads every shard after the archive's positions,
/// takes the entries of the earliest hour of acceptance present (per shard a prefix, since a shard is
/// in acceptance order), leaves out users in `tombstones` (SHA-256 digests of forgotten users), and
/// writes them as one segment that records the positions reached; repeats until the stream is
/// drained. A killed drain resumes from the last complete segment, so every event is archived once.
/// Reads the stream without a consumer group: archiving never competes with the feature updaters.
public struct ArchiveDrain: Sendable {
  public let archive: EventArchive
  public let stream: RedisEventStream
  /// Entries read per shard per segment.
  public let batch: Int

  public init(archive: EventArchive, stream: RedisEventStream, batch: Int = 20_000) {
    self.archive = archive
    self.stream = stream
    self.batch = max(1, batch)
  }

  /// What one drain did.
  public struct Outcome: Sendable, Equatable {
    public var segments = 0, events = 0, forgotten = 0
    /// Incomplete files of an earlier, killed drain that were removed.
    public var removed = 0
  }

  /// Drains until no shard has entries after the archive's positions, or `maxSegments` were written.
  public func run(tombstones: Set<String>, maxSegments: Int = .max) async throws -> Outcome {
    var outcome = Outcome()
    outcome.removed = try archive.removeIncomplete().count
    // The manifests are read once: each segment written is the next one's predecessor.
    var newest = try archive.segments().last
    var positions = newest?.positions ?? [:]
    while outcome.segments < maxSegments {
      var read: [(key: String, events: [StreamedEvent], last: String?)] = []
      for key in stream.streamKeys {
        let (events, last) = try await stream.entries(of: key, after: positions[key], limit: batch)
        read.append((key, events, last))
      }
      let heads = read.compactMap { $0.events.first?.acceptedMs }
      guard let earliest = heads.min() else {
        // Entries without events (deleted by ForgetUser) still move the positions on.
        let moved = read.filter { $0.last != nil && $0.last != positions[$0.key] }
        guard !moved.isEmpty else { break }
        for r in moved { positions[r.key] = r.last }
        continue
      }
      let hour = EventArchive.hour(ofMs: earliest)
      var taken: [StreamedEvent] = []
      var next = positions
      for r in read {
        let inHour = r.events.prefix { EventArchive.hour(ofMs: $0.acceptedMs) == hour }
        taken += inHour
        if let last = inHour.last { next[r.key] = last.entryID }
        // A shard read to its end within this hour also passes over trailing entries without events.
        if inHour.count == r.events.count, r.events.count < batch, let last = r.last { next[r.key] = last }
      }
      // Entry ids compare as (ms, sequence) numbers, not as text ("9" sorts after "10").
      taken.sort { $0.acceptedMs != $1.acceptedMs ? $0.acceptedMs < $1.acceptedMs : CatalogFeedEntry.precedes($0.entryID, $1.entryID) }
      let kept = tombstones.isEmpty ? taken.map(\.event) : taken.map(\.event).filter { !tombstones.contains(UserIDDigest.hex($0.userID)) }
      newest = try archive.append(kept, hour: hour, forgotten: taken.count - kept.count, positions: next, after: newest)
      positions = next
      outcome.segments += 1
      outcome.events += kept.count
      outcome.forgotten += taken.count - kept.count
    }
    return outcome
  }
}
