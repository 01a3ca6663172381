import Foundation

/// Document-level operations over `MongoClient.command`: idempotent bulk upserts by `_id` and cursor
/// reads (find + getMore), with documents as JSON objects (relaxed extended JSON) in `Data`.
extension MongoClient {
  /// Upserts every `(id, document)` (`document`: a JSON object; its `_id` is set to `id`) in commands
  /// of `batchSize` documents. Replays change nothing. Returns matched + upserted documents.
  public func upsert(database: String, collection: String, documents: [(id: String, json: Data)],
                     batchSize: Int = 1_000) async throws -> Int {
    var total = 0
    for start in stride(from: 0, to: documents.count, by: max(1, batchSize)) {
      let batch = documents[start..<min(documents.count, start + max(1, batchSize))]
      let updates = try batch.map { id, json -> String in
        let quoted = String(decoding: try JSONEncoder().encode(id), as: UTF8.self)
        return "{\"q\":{\"_id\":\(quoted)},\"u\":\(String(decoding: json, as: UTF8.self)),\"upsert\":true}"
      }.joined(separator: ",")
      let quotedCollection = String(decoding: try JSONEncoder().encode(collection), as: UTF8.self)
      let reply = try await command(database: database,
                                    json: "{\"update\":\(quotedCollection),\"updates\":[\(updates)],\"ordered\":false}")
      let object = try Self.object(reply, "update \(collection)")
      if let errors = object["writeErrors"] as? [[String: Any]], let first = errors.first {
        throw MongoError("update \(collection): \(errors.count) write errors, first: \(first["errmsg"] ?? first)")
      }
      total += (object["n"] as? NSNumber)?.intValue ?? 0
    }
    return total
  }

  /// Every document of `collection` matching `filter` (a JSON query), at most `limit` of them (nil:
  /// no limit), read through a cursor in batches of `batchSize`. O(matches) memory.
  public func findAll(database: String, collection: String, filter: String = "{}", limit: Int? = nil,
                      batchSize: Int = 5_000) async throws -> [Data] {
    let quoted = String(decoding: try JSONEncoder().encode(collection), as: UTF8.self)
    let limitField = limit.map { ",\"limit\":\($0)" } ?? ""
    var reply = try Self.object(
      try await command(database: database,
                        json: "{\"find\":\(quoted),\"filter\":\(filter)\(limitField),\"batchSize\":\(batchSize)}"),
      "find \(collection)")
    var documents: [Data] = []
    var key = "firstBatch"
    while true {
      guard let cursor = reply["cursor"] as? [String: Any], let batch = cursor[key] as? [Any] else {
        throw MongoError("find \(collection): the reply has no cursor")
      }
      for document in batch { documents.append(try JSONSerialization.data(withJSONObject: document)) }
      let id = (cursor["id"] as? NSNumber)?.int64Value ?? 0
      guard id != 0 else { return documents }
      reply = try Self.object(
        try await command(database: database,
                          json: "{\"getMore\":\(id),\"collection\":\(quoted),\"batchSize\":\(batchSize)}"),
        "getMore \(collection)")
      key = "nextBatch"
    }
  }

  /// The documents whose `_id` is in `ids`, in `$in` chunks of `chunk` ids. Each
  /// query carries `limit` = its id count (at most one document per `_id`), so the server stops once
  /// it has them all and the cursor closes with the first batch; a single id is an equality match
  /// (a point read on the `_id` index, like a driver's `findOne`). One round trip per chunk.
  public func find(database: String, collection: String, ids: [String], chunk: Int = 200) async throws -> [Data] {
    var documents: [Data] = []
    for start in stride(from: 0, to: ids.count, by: max(1, chunk)) {
      let part = Array(ids[start..<min(ids.count, start + max(1, chunk))])
      let filter = part.count == 1
        ? "{\"_id\":\(String(decoding: try JSONEncoder().encode(part[0]), as: UTF8.self))}"
        : "{\"_id\":{\"$in\":\(String(decoding: try JSONEncoder().encode(part), as: UTF8.self))}}"
      documents += try await findAll(database: database, collection: collection, filter: filter, limit: part.count,
                                     batchSize: part.count)
    }
    return documents
  }

  static func object(_ json: String, _ what: String) throws -> [String: Any] {
    guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
      throw MongoError("\(what): the reply is not a JSON object")
    }
    if let ok = object["ok"] as? NSNumber, ok.doubleValue != 1 {
      throw MongoError("\(what): \(object["errmsg"] ?? "failed")")
    }
    return object
  }
}
