import FunnelCore
import MappedStorage

/// The `popularity` file of a generation: time-decayed popularity of every document (scaled so the
/// best is 1), the global top list, and a top list per category key of the items file; format 2 adds
/// the same lists for trending (a much shorter half-life: what is rising now).
///
/// Immutable; safe to share across threads; list entries are checked against the item count at open.
public struct PopularityTable: Sendable {
  static let kind = "POPL"
  static let version: UInt32 = 2

  /// Popularity of each document in 0...1.
  public let itemPopularity: ScalarView<Float>
  private let listOffsets: ScalarView<UInt32>
  private let listDocs: ScalarView<UInt32>
  private let listScores: ScalarView<Float>
  private let trendOffsets: ScalarView<UInt32>?
  private let trendDocs: ScalarView<UInt32>?
  private let trendScores: ScalarView<Float>?

  /// A ranked list: `docs[range]` with `scores[range]`, best first.
  public struct List {
    public let range: Range<Int>
  }

  /// Serialises popularity; `lists[0]` is the global list, `lists[1 + k]` the list of category key `k`.
  /// `trending` has the same shape as `lists`.
  public static func write(itemPopularity: [Float], lists: [[(DocID, Float)]], trending: [[(DocID, Float)]]) -> [UInt8] {
    file(itemPopularity: itemPopularity, lists: lists, trending: trending).bytes
  }

  /// `write` as a `PendingFile` (to stream to disk).
  public static func file(itemPopularity: [Float], lists: [[(DocID, Float)]], trending: [[(DocID, Float)]]) -> PendingFile {
    precondition(lists.count == trending.count, "trending lists must match the popularity lists")
    var w = SectionedFileWriter()
    w.add(itemPopularity)
    ScoredRows.write(lists, into: &w)
    ScoredRows.write(trending, into: &w)
    return w.file(kind: kind, formatVersion: version)
  }

  /// Opens a popularity file for `documentCount` documents and `categoryCount` category keys.
  public init(_ region: ByteRegion, documentCount: Int, categoryCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: 1...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 4)
    itemPopularity = try f.scalars(0, as: Float.self, expected: documentCount)
    (listOffsets, listDocs, listScores) = try ScoredRows.read(f, first: 1, rows: categoryCount + 1,
                                                              documentCount: documentCount)
    if f.sectionCount >= 7 {
      let (o, d, s) = try ScoredRows.read(f, first: 4, rows: categoryCount + 1, documentCount: documentCount)
      (trendOffsets, trendDocs, trendScores) = (o, d, s)
    } else {
      (trendOffsets, trendDocs, trendScores) = (nil, nil, nil)
    }
  }

  /// The global trending list as (doc, score) pairs, best first (empty for format 1 files).
  public func trending(limit: Int) -> [(DocID, Float)] {
    guard let trendOffsets, let trendDocs, let trendScores else { return [] }
    let range = Int(trendOffsets[0])..<Int(trendOffsets[1])
    return range.prefix(limit).map { (DocID(rawValue: trendDocs[$0]), trendScores[$0]) }
  }

  /// The global list.
  public var global: List { List(range: Int(listOffsets[0])..<Int(listOffsets[1])) }

  /// The list of category key `key`.
  public func category(_ key: UInt32) -> List {
    let i = Int(key) + 1
    guard i + 1 < listOffsets.count else { return List(range: 0..<0) }
    return List(range: Int(listOffsets[i])..<Int(listOffsets[i + 1]))
  }

  /// Doc at position `i` of the lists.
  @inline(__always) public func doc(_ i: Int) -> DocID { DocID(rawValue: listDocs[i]) }
  /// Score at position `i` of the lists.
  @inline(__always) public func score(_ i: Int) -> Float { listScores[i] }
}
