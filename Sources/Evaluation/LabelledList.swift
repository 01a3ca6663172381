import Experiments
import FeatureStore
import Foundation

/// One served list for retraining and the offline gate: the shown items with the model inputs they
/// were served with (point-in-time: logged at the answer) and a graded label from what the user did
/// after (3 purchased, 2 added to the cart, 1 clicked, 0 nothing). Value type; thread-safe.
public struct LabelledList: Hashable, Sendable {
  /// The answer's request id (the query group).
  public var requestID: String
  /// Unix ms of the answer.
  public var timestampMs: Int64
  /// Shown items in served order.
  public var items: [String]
  /// Names of the logged inputs.
  public var featureNames: [String]
  /// Per shown item, its inputs in `featureNames` order (NaN: missing).
  public var features: [[Float]]
  /// Per shown item, 0...3.
  public var labels: [Int]

  /// Whether any shown item has a positive label.
  public var hasPositive: Bool { labels.contains { $0 > 0 } }

  /// The list of `attributed`, or nil when its exposure logged no features (feature logging off, or
  /// only pinned items shown).
  public init?(_ attributed: AttributedExposure) {
    let e = attributed.exposure
    guard !e.featureNames.isEmpty, e.features.count == e.items.count else { return nil }
    requestID = e.requestID
    timestampMs = e.timestampMs
    items = e.items
    featureNames = e.featureNames
    features = e.features
    labels = attributed.outcomes.map { $0.purchases > 0 ? 3 : $0.carts > 0 ? 2 : $0.clicks > 0 ? 1 : 0 }
  }

  /// A list from its parts (tests, replays).
  public init(requestID: String, timestampMs: Int64, items: [String], featureNames: [String], features: [[Float]], labels: [Int]) {
    self.requestID = requestID
    self.timestampMs = timestampMs
    self.items = items
    self.featureNames = featureNames
    self.features = features
    self.labels = labels
  }

  /// Splits `lists` by time: the last `fraction` of them by answer time (0 < fraction < 1) are
  /// held out, so the gate judges on answers after every answer trained on. Both halves keep time
  /// order. O(n log n).
  public static func splitByTime(_ lists: [LabelledList], heldOut fraction: Double) -> (train: [LabelledList], heldOut: [LabelledList]) {
    let sorted = lists.sorted { ($0.timestampMs, $0.requestID) < ($1.timestampMs, $1.requestID) }
    guard sorted.count > 1 else { return (sorted, []) }
    let cut = min(sorted.count - 1, max(1, Int((Double(sorted.count) * (1 - fraction)).rounded())))
    // Lists of one millisecond stay on one side.
    var at = cut
    while at < sorted.count, at > 0, sorted[at].timestampMs == sorted[at - 1].timestampMs { at += 1 }
    return (Array(sorted[..<at]), Array(sorted[at...]))
  }

  /// Writes `lists` (those with a positive label: all-negative groups teach a ranker nothing) as the
  /// CSV `Training/train_ranker.py` reads: `query,label,item_id,position,` then `names` (position is
  /// the served rank from 0, for position-debiased training; values mapped by name; missing empty).
  /// Without `positions` (lists that were never served: replay candidates) the column is left out.
  /// With `shuffleSeed`, labels are permuted across all rows with that seed (a deliberately useless
  /// model, for testing the gate). Returns (lists, rows) written.
  @discardableResult
  public static func writeCSV(_ lists: [LabelledList], names: [String], to path: String, shuffleSeed: UInt64? = nil,
                              positions: Bool = true) throws -> (lists: Int, rows: Int) {
    let kept = lists.filter(\.hasPositive)
    var labels = kept.flatMap(\.labels)
    if let seed = shuffleSeed {
      var state = seed | 1
      for i in stride(from: labels.count - 1, to: 0, by: -1) {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        labels.swapAt(i, Int(state % UInt64(i + 1)))
      }
    }
    var out = "query,label,item_id," + (positions ? "position," : "") + names.joined(separator: ",") + "\n"
    var row = 0
    for list in kept {
      let columns = names.map { list.featureNames.firstIndex(of: $0) }
      for (i, item) in list.items.enumerated() {
        out += "\(TrainingReplay.csvField(list.requestID)),\(labels[row]),\(TrainingReplay.csvField(item))" + (positions ? ",\(i)" : "")
        for c in columns {
          out += ","
          if let c, c < list.features[i].count, list.features[i][c].isFinite { out += "\(list.features[i][c])" }
        }
        out += "\n"
        row += 1
      }
    }
    guard FileManager.default.createFile(atPath: path, contents: Data(out.utf8)) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    return (kept.count, row)
  }
}
