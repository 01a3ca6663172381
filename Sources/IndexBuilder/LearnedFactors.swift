import Foundation
import FunnelCore

/// Implicit-feedback matrix factorisation factors (ALS or BPR, trained by
/// `Training/train_factors.py` with the `implicit` package): one vector per item and per user, the
/// score of a user for an item being their inner product. Read from a directory holding
/// `items.tsv` and `users.tsv` (`id<TAB>v1 v2 ...`, one line per id) and `factors.json`
/// (`{"model": "als", ...}`). Immutable after reading; thread-safe.
public struct LearnedFactors: Hashable, Sendable {
  /// Which factorisation made them (`als`, `bpr`), for reports.
  public var model: String
  public var dimension: Int
  public var items: [ItemID: [Float]]
  public var users: [UserID: [Float]]

  /// Factors from values.
  public init(model: String, dimension: Int, items: [ItemID: [Float]], users: [UserID: [Float]]) {
    self.model = model
    self.dimension = dimension
    self.items = items
    self.users = users
  }

  /// Reads the factors in `directory`. Throws `.invalidArgument` naming the file and line of a
  /// malformed row, a vector of another length or a value that is not a finite number.
  public static func read(directory: String) throws -> LearnedFactors {
    let metaPath = directory + "/factors.json"
    guard let meta = FileManager.default.contents(atPath: metaPath),
          let object = try? JSONSerialization.jsonObject(with: meta) as? [String: Any] else {
      throw FunnelError(.invalidArgument, "\(metaPath): missing or not a JSON object")
    }
    let model = object["model"] as? String ?? "factors"
    var dimension: Int?
    func table(_ name: String) throws -> [String: [Float]] {
      let path = directory + "/" + name
      guard let data = FileManager.default.contents(atPath: path) else { throw FunnelError(.invalidArgument, "\(path): cannot read it") }
      var rows: [String: [Float]] = [:]
      var line = 0
      for text in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
        line += 1
        guard let tab = text.firstIndex(of: 0x09) else { throw FunnelError(.invalidArgument, "\(path):\(line): no tab after the id") }
        let id = String(decoding: text[text.startIndex..<tab], as: UTF8.self)
        var vector: [Float] = []
        for field in text[(tab + 1)...].split(separator: 0x20) {
          guard let value = Float(String(decoding: field, as: UTF8.self)), value.isFinite else {
            throw FunnelError(.invalidArgument, "\(path):\(line): '\(String(decoding: field, as: UTF8.self))' is not a finite number")
          }
          vector.append(value)
        }
        guard !id.isEmpty, !vector.isEmpty, vector.count == (dimension ?? vector.count), vector.count <= 1_024 else {
          throw FunnelError(.invalidArgument, "\(path):\(line): an id and 1...1024 values (as many as every other row) are needed")
        }
        dimension = vector.count
        rows[id] = vector
      }
      return rows
    }
    let items = try table("items.tsv")
    let users = try table("users.tsv")
    guard let dimension else { throw FunnelError(.invalidArgument, "\(directory): no factors") }
    return LearnedFactors(model: model, dimension: dimension, items: items, users: users)
  }

  /// The factorisation's score of `user` for each of `candidates` (nil for a user or item it does
  /// not know). O(candidates x dimension).
  public func score(user: UserID, item: ItemID) -> Float? {
    guard let u = users[user], let v = items[item] else { return nil }
    var sum: Float = 0
    for k in 0..<dimension { sum += u[k] * v[k] }
    return sum
  }
}
