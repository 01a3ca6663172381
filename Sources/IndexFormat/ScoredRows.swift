import FunnelCore
import MappedStorage

/// Rows of (doc, score) pairs stored compressed-sparse-row style in three sections: offsets (`UInt32`,
/// rows + 1), doc ids (`UInt32`) and scores (`Float`). Shared by neighbour lists and popularity lists.
enum ScoredRows {
  /// Appends the three sections for `rows`.
  static func write(_ rows: [[(DocID, Float)]], into writer: inout SectionedFileWriter) {
    var offsets: [UInt32] = [0]
    offsets.reserveCapacity(rows.count + 1)
    var docs: [UInt32] = []
    var scores: [Float] = []
    for row in rows {
      for (doc, score) in row {
        docs.append(doc.rawValue)
        scores.append(score)
      }
      offsets.append(UInt32(docs.count))
    }
    writer.add(offsets)
    writer.add(docs)
    writer.add(scores)
  }

  /// Reads the sections starting at `first`, checking that offsets ascend and cover the docs and
  /// that every doc id is below `documentCount` (O(entries)).
  static func read(_ f: SectionedFile, first: Int, rows: Int, documentCount: Int) throws
    -> (ScalarView<UInt32>, ScalarView<UInt32>, ScalarView<Float>)
  {
    let offsets = try f.scalars(first, as: UInt32.self, expected: rows + 1)
    let docs = try f.scalars(first + 1, as: UInt32.self)
    let scores = try f.scalars(first + 2, as: Float.self, expected: docs.count)
    guard offsets[0] == 0, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }), Int(offsets[rows]) == docs.count else {
      throw f.corrupt("row offsets are out of order or do not cover the rows")
    }
    let limit = UInt32(documentCount)
    guard docs.withUnsafeBufferPointer({ $0.allSatisfy { $0 < limit } }) else {
      throw f.corrupt("a doc id points past \(documentCount) items")
    }
    return (offsets, docs, scores)
  }
}
