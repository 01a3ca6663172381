import FunnelCore
import MappedStorage

/// The `neighbours` file of a generation: top-K item-to-item neighbours per document in CSR form
/// (offsets, neighbour docs, similarity scores in 0...1, best first within each row).
///
/// Immutable; safe to share across threads. Every neighbour id is checked against the item count
/// at open, so rows can be walked without further checks.
public struct NeighbourTable: Sendable {
  static let kind = "NBRS"
  static let version: UInt32 = 1

  private let offsets: ScalarView<UInt32>
  /// Neighbour doc ids (raw), row after row.
  public let neighbours: ScalarView<UInt32>
  /// Similarity of each neighbour.
  public let scores: ScalarView<Float>

  /// Serialises one row per document (`rows[d]` = d's neighbours, best first).
  public static func write(rows: [[(DocID, Float)]]) -> [UInt8] {
    var w = SectionedFileWriter()
    ScoredRows.write(rows, into: &w)
    return w.finish(kind: kind, formatVersion: version)
  }

  /// The file for rows already in CSR form: `offsets` (docs + 1, ascending from 0), then each row's
  /// neighbour docs and scores, best first. Preconditions as for `write(rows:)`.
  public static func file(offsets: [UInt32], neighbours: [UInt32], scores: [Float]) -> PendingFile {
    precondition(offsets.first == 0 && Int(offsets.last!) == neighbours.count && neighbours.count == scores.count)
    var w = SectionedFileWriter()
    w.add(offsets)
    w.add(neighbours)
    w.add(scores)
    return w.file(kind: kind, formatVersion: version)
  }

  /// Opens a neighbours file for `documentCount` documents (O(neighbours) validation).
  public init(_ region: ByteRegion, documentCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: Self.version...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 3)
    (offsets, neighbours, scores) = try ScoredRows.read(f, first: 0, rows: documentCount, documentCount: documentCount)
  }

  /// Number of rows.
  public var documentCount: Int { offsets.count - 1 }

  /// Index range of `doc`'s row in `neighbours`/`scores`; empty outside the table.
  @inline(__always) public func row(_ doc: DocID) -> Range<Int> {
    guard doc.index < offsets.count - 1 else { return 0..<0 }
    return Int(offsets[doc.index])..<Int(offsets[doc.index + 1])
  }
}
