import Foundation
import FunnelCore
import Synchronization

/// Offline item features (from the items collection) as a columnar snapshot: one `Float` per item and
/// numeric feature, NaN where an item lacks one. Built once per load, swapped whole; immutable.
public struct ItemFeatureTable: Sendable {
  /// Feature names, in column order.
  public let names: [String]
  /// Item ids, in row order.
  public let itemIDs: [ItemID]
  /// Identifies this load (e.g. `items@1790000000000`), for logs and status.
  public let version: String
  private let values: [Float]

  /// A table of `rows` (item id, one value per name). Precondition: every row has `names.count` values.
  public init(names: [String], rows: [(ItemID, [Float])], version: String) {
    precondition(rows.allSatisfy { $0.1.count == names.count }, "every row needs one value per feature")
    self.names = names
    self.itemIDs = rows.map(\.0)
    self.values = rows.flatMap(\.1)
    self.version = version
  }

  /// An empty table.
  public static let empty = ItemFeatureTable(names: [], rows: [], version: "none")

  /// The table of JSON documents (one object per item, `_id` the item id): every top-level number
  /// or boolean becomes a feature (booleans as 0/1); other fields (text, arrays, objects) are skipped.
  public static func fromDocuments(_ documents: [Data], version: String) throws -> ItemFeatureTable {
    var objects: [(ItemID, [String: Float])] = []
    var names = Set<String>()
    for (i, data) in documents.enumerated() {
      guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw FunnelError(.failedPrecondition, "item features: document \(i) is not a JSON object")
      }
      guard let id = object["_id"] as? String else { continue }
      let numbers = numericFields(object)
      names.formUnion(numbers.keys)
      objects.append((id, numbers))
    }
    let ordered = names.sorted()
    return ItemFeatureTable(names: ordered, rows: objects.map { id, numbers in (id, ordered.map { numbers[$0] ?? .nan }) },
                            version: version)
  }

  /// The top-level numbers and booleans of a decoded JSON object, except `_id`.
  public static func numericFields(_ object: [String: Any]) -> [String: Float] {
    var result: [String: Float] = [:]
    for (key, value) in object where key != "_id" {
      guard let number = value as? NSNumber else { continue }
      // Foundation bridges JSON booleans to NSNumber too; both are useful features (0/1).
      result[key] = number.floatValue
    }
    return result
  }

  /// Number of items.
  public var count: Int { itemIDs.count }

  /// The column of feature `name`, or nil.
  public func column(_ name: String) -> Int? { names.firstIndex(of: name) }

  /// The value at `row`, `column`. O(1).
  @inline(__always) public func value(row: Int, column: Int) -> Float { values[row * names.count + column] }
}
