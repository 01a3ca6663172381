import FunnelCore
import MappedStorage

/// The optional `users` file of a generation: what the build learned per user, for users with a
/// history at build time — their matrix-factorisation factors (the user side of `factors.fnl`) and
/// their user-based CF list (items bought by the users most like them, which they have not had).
///
/// User factors live here, beside the item factors of the same training run, rather than in the
/// offline features store: factors of two training runs live in unrelated bases, so a user vector
/// is only meaningful against the item vectors it was trained with, and the generation swaps both
/// at once.
///
/// ```
/// section 0: dimension, users (u32)            section 1: item scale (f32, 1)
/// sections 2-3: user ids (sorted, StringColumn)  section 4: factors (f32, users x dimension)
/// sections 5-7: CF lists (ScoredRows: offsets, docs, scores; best first, best = 1)
/// ```
/// Immutable; safe to share across threads. Lookups are a binary search over the ids, no allocation.
public struct UserTable: Sendable {
  static let kind = "USRS"
  static let version: UInt32 = 1
  public static let fileName = "users.fnl"

  /// Factor dimension (0: the build had no factors).
  public let dimension: Int
  /// The factor by which `factors.fnl`'s stored item vectors were shrunk (their largest norm): a
  /// user's inner product with an item's raw factors is `itemScale` x its product with the stored
  /// prefix.
  public let itemScale: Float
  private let ids: StringColumn
  private let factors: ScalarView<Float>
  private let offsets: ScalarView<UInt32>
  private let docs: ScalarView<UInt32>
  private let scores: ScalarView<Float>

  /// The file: `users` sorted strictly by UTF-8 bytes, `factors` users x `dimension` (zeros for a
  /// user without factors), `lists[u]` user u's CF list (best first).
  public static func file(users: [UserID], dimension: Int, itemScale: Float, factors: [Float],
                          lists: [[(DocID, Float)]]) -> PendingFile {
    precondition(factors.count == users.count * dimension && lists.count == users.count)
    var w = SectionedFileWriter()
    w.add([UInt32(dimension), UInt32(users.count)])
    w.add([itemScale])
    StringColumn.write(users, into: &w)
    w.add(factors)
    ScoredRows.write(lists, into: &w)
    return w.file(kind: kind, formatVersion: version)
  }

  /// Opens a users file whose lists point at `documentCount` items. O(users + list entries) checks.
  public init(_ region: ByteRegion, documentCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: Self.version...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 8)
    let header = try f.scalars(0, as: UInt32.self, expected: 2)
    dimension = Int(header[0])
    let count = Int(header[1])
    guard dimension <= 4_096 else { throw f.corrupt("factor dimension \(dimension) is over 4096") }
    itemScale = try f.scalars(1, as: Float.self, expected: 1)[0]
    guard itemScale.isFinite, itemScale >= 0 else { throw f.corrupt("item scale \(itemScale) is not a finite non-negative number") }
    ids = try StringColumn(f, first: 2, expected: count, sorted: true)
    factors = try f.scalars(4, as: Float.self, expected: count * dimension)
    (offsets, docs, scores) = try ScoredRows.read(f, first: 5, rows: count, documentCount: documentCount)
  }

  /// Number of users.
  public var count: Int { ids.count }

  /// The row of `user`, or nil when the build did not know them. O(log users).
  public func row(_ user: UserID) -> Int? { ids.find(user) }

  /// The user id of `row`.
  public func user(_ row: Int) -> UserID { ids[row] }

  /// User `row`'s factors (empty when the build had none); nil when they are all zero (a user the
  /// factorisation did not cover).
  /// O(dimension); allocates the copy.
  public func factors(_ row: Int) -> [Float]? {
    guard dimension > 0, row >= 0, row < count else { return nil }
    let vector = Array(factors[(row * dimension)..<((row + 1) * dimension)])
    return vector.contains { $0 != 0 } ? vector : nil
  }

  /// User `row`'s CF list: (item, score) best first.
  public func list(_ row: Int) -> some Sequence<(DocID, Float)> {
    (Int(offsets[row])..<Int(offsets[row + 1])).lazy.map { (DocID(rawValue: docs[$0]), scores[$0]) }
  }
}
