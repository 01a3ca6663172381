import FeatureStore
import FunnelCore
import IndexFormat
import Synchronization

/// An items snapshot bound to one generation: the snapshot row of every doc id, computed once per
/// (generation, snapshot) pair so the ranker reads a cell with two array loads and no hashing.
public struct BoundItemFeatures: Sendable {
  public let table: ItemFeatureTable
  /// The generation the rows are for.
  public let generationVersion: String
  private let rows: [Int32]

  /// Binds `table` to `generation`. O(snapshot rows * log items).
  public init(_ table: ItemFeatureTable, to generation: IndexGeneration) {
    // Bound to the mapped docs only: a catalog overlay changes with every batch of changes while the
    // binding lasts for the generation; items the overlay added have no row until the next one.
    let mapped = generation.items.overlaid(with: nil)
    var rows = [Int32](repeating: -1, count: mapped.count)
    for (row, id) in table.itemIDs.enumerated() {
      if let doc = mapped.doc(for: id) { rows[doc.index] = Int32(row) }
    }
    self.table = table
    self.generationVersion = generation.version
    self.rows = rows
  }

  /// The snapshot row of `doc`, or nil for an item without offline features (or added by the overlay).
  @inline(__always) public func row(_ doc: DocID) -> Int? {
    guard doc.index < rows.count else { return nil }
    let r = rows[doc.index]
    return r < 0 ? nil : Int(r)
  }
}
