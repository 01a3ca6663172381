import FeatureStore
import Foundation
import FunnelCore
import FunnelJSON

/// Offline features in MongoDB: `items` (one document per item, `_id` the item id: price, margin,
/// ctr/cvr over 7 and 30 days, sales, ...) and `users` (`_id` the user id: segments as numbers,
/// lifetime value, preferred price band, ...). Top-level numbers and booleans are features.
/// Thread-safe.
public struct MongoFeatureStore: OfflineFeatureSource {
  public let client: MongoClient
  public let database: String
  public let itemsCollection: String
  public let usersCollection: String
  private let now: @Sendable () -> Int64

  /// A store over `database` of `client`.
  public init(client: MongoClient, database: String = "funnel", itemsCollection: String = "items",
              usersCollection: String = "users", now: @escaping @Sendable () -> Int64) {
    self.client = client
    self.database = database
    self.itemsCollection = itemsCollection
    self.usersCollection = usersCollection
    self.now = now
  }

  public func loadItemFeatures() async throws -> ItemFeatureTable {
    let documents = try await client.findAll(database: database, collection: itemsCollection)
    return try ItemFeatureTable.fromDocuments(documents, version: "\(itemsCollection)@\(now())")
  }

  public func userFeatures(_ users: [UserID]) async throws -> [UserID: [String: Float]] {
    var result: [UserID: [String: Float]] = [:]
    for data in try await client.find(database: database, collection: usersCollection, ids: users) {
      guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let id = object["_id"] as? String else {
        continue
      }
      result[id] = ItemFeatureTable.numericFields(object)
    }
    return result
  }

  /// Deletes the user's profile document (`delete` with `limit: 1`); returns how many were deleted.
  public func forgetUser(_ user: UserID) async throws -> Int {
    // Written by hand: the command name must be the document's first key.
    var bytes = Array("{\"delete\": ".utf8)
    JSONText.appendString(usersCollection, to: &bytes)
    bytes += Array(", \"deletes\": [{\"q\": {\"_id\": ".utf8)
    JSONText.appendString(user, to: &bytes)
    bytes += Array("}, \"limit\": 1}]}".utf8)
    let json = String(decoding: bytes, as: UTF8.self)
    let reply = try await client.command(database: database, json: json)
    guard let object = try? JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any] else { return 0 }
    if let n = object["n"] as? Int { return n }
    if let n = object["n"] as? [String: Any], let text = (n["$numberInt"] ?? n["$numberLong"]) as? String { return Int(text) ?? 0 }
    return 0
  }

  /// Writes JSON-lines files of features: one object per line with `id` (string), the rest fields.
  /// Upserts by id (idempotent). Returns the number of documents written; errors name the line.
  public func load(lines: [String], into collection: String, source: String) async throws -> Int {
    var documents: [(id: String, json: Data)] = []
    for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      guard var object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw FunnelError(.invalidArgument, "\(source):\(i + 1): not a JSON object")
      }
      guard let id = object.removeValue(forKey: "id") as? String, !id.isEmpty else {
        throw FunnelError(.invalidArgument, "\(source):\(i + 1): 'id' (a non-empty string) is missing")
      }
      documents.append((id, try JSONSerialization.data(withJSONObject: object)))
    }
    return try await client.upsert(database: database, collection: collection, documents: documents)
  }
}
