import Foundation
import FunnelCore
import IndexFormat

/// Reads and writes the catalog and event JSON-lines files (schema: `Indexes/README.md`).
///
/// Reading streams line by line; every error names the file, the line and the field. Writing is
/// the inverse, used by `funnel generate demo`.
public enum JSONLines {
  /// Reads a catalog: one item per line. Throws `invalidArgument` at the first bad line, or for a
  /// duplicate id (naming both lines). Returns the items and the file's digest for the manifest.
  public static func readCatalog(path: String) throws -> ([CatalogItem], GenerationManifest.SourceEntry) {
    var items: [CatalogItem] = []
    var lineOfID: [String: Int] = [:]
    var dimension: (Int, Int)?
    let source = try forEachObject(path: path) { object, line in
      let place = "\(path):\(line)"
      let id = try string(object, "id", place, required: true)
      try checkID(id, "id", place)
      if let first = lineOfID[id] { throw FunnelError(.invalidArgument, "\(place): id '\(id)' repeats line \(first)") }
      lineOfID[id] = line
      let categoryText = try string(object, "category", place, required: true)
      let path = categoryText.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      guard !path.isEmpty else { throw FunnelError(.invalidArgument, "\(place): 'category' is empty") }
      let price = try number(object, "price", place) ?? 0
      guard price.isFinite, price >= 0 else { throw FunnelError(.invalidArgument, "\(place): 'price' must be a non-negative number") }
      var tags: [String] = []
      if let raw = object["tags"], !(raw is NSNull) {
        guard let list = raw as? [Any], let strings = list as? [String] else {
          throw FunnelError(.invalidArgument, "\(place): 'tags' must be a list of strings")
        }
        tags = strings
      }
      var embedding: [Float] = []
      if let raw = object["embedding"], !(raw is NSNull) {
        guard let list = raw as? [Any], let numbers = list as? [NSNumber], !list.contains(where: isBoolean),
              numbers.allSatisfy({ $0.doubleValue.isFinite }) else {
          throw FunnelError(.invalidArgument, "\(place): 'embedding' must be a list of finite numbers")
        }
        embedding = numbers.map(\.floatValue)
        if dimension == nil { dimension = (embedding.count, line) }
        guard embedding.count == dimension!.0 else {
          throw FunnelError(.invalidArgument,
                            "\(place): 'embedding' has \(embedding.count) values, line \(dimension!.1) has \(dimension!.0)")
        }
      }
      var inStock = true
      if let raw = object["in_stock"], !(raw is NSNull) {
        guard isBoolean(raw), let flag = raw as? Bool else { throw FunnelError(.invalidArgument, "\(place): 'in_stock' must be true or false") }
        inStock = flag
      }
      items.append(CatalogItem(id: id, title: try string(object, "title", place) , categoryPath: path,
                               brand: try string(object, "brand", place), price: price, tags: tags, inStock: inStock,
                               embedding: embedding, attributes: try attributes(object["attrs"], place)))
    }
    return (items, source)
  }

  /// Reads behaviour events: `user_id`, `item_id`, `type`, and `timestamp_ms` (Unix ms) or
  /// `timestamp` (ISO 8601); optional `event_id` (default: file line), `quantity`, `price`, `session_id`.
  public static func readEvents(path: String) throws -> ([BehaviourEvent], GenerationManifest.SourceEntry) {
    var events: [BehaviourEvent] = []
    let iso = ISO8601DateFormatter()
    let source = try forEachObject(path: path) { object, line in
      let place = "\(path):\(line)"
      let user = try string(object, "user_id", place, required: true)
      let item = try string(object, "item_id", place, required: true)
      try checkID(user, "user_id", place)
      try checkID(item, "item_id", place)
      let typeName = try string(object, "type", place, required: true)
      guard let kind = EventKind(rawValue: typeName) else {
        throw FunnelError(.invalidArgument, "\(place): 'type' \(typeName) is not one of \(EventKind.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      let timestamp: Int64
      if let ms = try number(object, "timestamp_ms", place) {
        timestamp = Int64(ms)
      } else if let text = object["timestamp"] as? String, let date = iso.date(from: text) {
        timestamp = Int64(date.timeIntervalSince1970 * 1000)
      } else {
        throw FunnelError(.invalidArgument, "\(place): needs 'timestamp_ms' (Unix ms) or 'timestamp' (ISO 8601)")
      }
      let quantity = try number(object, "quantity", place) ?? 1
      guard quantity >= 0, quantity <= 1_000_000 else { throw FunnelError(.invalidArgument, "\(place): 'quantity' is out of range") }
      let eventID = try string(object, "event_id", place)
      events.append(BehaviourEvent(
        eventID: eventID.isEmpty ? "line-\(line)" : eventID, userID: user, sessionID: try string(object, "session_id", place),
        itemID: item, kind: kind, timestampMs: timestamp, quantity: UInt32(max(1, quantity)),
        price: try number(object, "price", place) ?? 0))
    }
    return (events, source)
  }

  /// Writes items as catalog JSON lines.
  public static func writeCatalog(_ items: [CatalogItem], to path: String) throws {
    try write(path, items.map { item in
      ["id": item.id, "title": item.title, "category": item.category, "brand": item.brand, "price": item.price,
       "tags": item.tags, "in_stock": item.inStock]
        .merging(item.embedding.isEmpty ? [:] : ["embedding": item.embedding.map(Double.init)]) { a, _ in a }
        .merging(item.attributes.isEmpty ? [:] : ["attrs": item.attributes.mapValues { value -> Any in
          switch value {
          case .text(let s): s
          case .number(let x): x
          }
        }]) { a, _ in a } as [String: Any]
    })
  }

  /// `attrs`: an object of names (`a-z`, `0-9`, `_`; upper case is folded) to strings, finite numbers
  /// or booleans (stored as the text `true`/`false`).
  static func attributes(_ raw: Any?, _ place: String) throws -> [String: AttributeValue] {
    guard let raw, !(raw is NSNull) else { return [:] }
    guard let object = raw as? [String: Any] else { throw FunnelError(.invalidArgument, "\(place): 'attrs' must be an object") }
    var result: [String: AttributeValue] = [:]
    for (key, value) in object {
      let name = key.lowercased()
      guard AttributeValue.isValidName(name) else {
        throw FunnelError(.invalidArgument, "\(place): attribute name '\(key)' must be 1-64 characters of a-z, 0-9 and _")
      }
      guard result[name] == nil else { throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' appears twice") }
      if isBoolean(value), let flag = value as? Bool {
        result[name] = .text(flag ? "true" : "false")
      } else if let number = value as? NSNumber {
        guard number.doubleValue.isFinite else { throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' is not a finite number") }
        result[name] = .number(number.doubleValue)
      } else if let text = value as? String {
        guard !text.isEmpty, text.utf8.count <= 256, !text.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
          throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' must be 1-256 bytes of text without control characters")
        }
        result[name] = .text(text)
      } else if !(value is NSNull) {
        throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' must be a string, a number or a boolean")
      }
    }
    return result
  }

  /// Writes events as event JSON lines.
  public static func writeEvents(_ events: [BehaviourEvent], to path: String) throws {
    try write(path, events.map { e in
      ["event_id": e.eventID, "user_id": e.userID, "session_id": e.sessionID, "item_id": e.itemID,
       "type": e.kind.rawValue, "timestamp_ms": e.timestampMs, "quantity": e.quantity, "price": e.price] as [String: Any]
    })
  }

  // MARK: Helpers

  private static func write(_ path: String, _ objects: [[String: Any]]) throws {
    var data = Data()
    for object in objects {
      data += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
      data.append(0x0A)
    }
    do {
      try data.write(to: URL(fileURLWithPath: path))
    } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(path): \(error.localizedDescription)")
    }
  }

  /// Calls `body` with each non-blank line's JSON object and its 1-based line number; returns the
  /// file's size and CRC-32C.
  private static func forEachObject(path: String, _ body: ([String: Any], Int) throws -> Void) throws
    -> GenerationManifest.SourceEntry
  {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw FunnelError(.notFound, "cannot read \(path): \(error.localizedDescription)")
    }
    var crc: UInt32 = 0
    var line = 0
    var start = data.startIndex
    while start < data.endIndex {
      let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
      line += 1
      let slice = data[start..<end]
      crc = CRC32C.checksum(slice, seed: crc)
      if end < data.endIndex { crc = CRC32C.checksum(CollectionOfOne(0x0A), seed: crc) }
      start = end < data.endIndex ? data.index(after: end) : end
      guard slice.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
      let object: Any
      do {
        object = try JSONSerialization.jsonObject(with: slice)
      } catch {
        throw FunnelError(.invalidArgument, "\(path):\(line): not valid JSON")
      }
      guard let dictionary = object as? [String: Any] else {
        throw FunnelError(.invalidArgument, "\(path):\(line): each line must be a JSON object")
      }
      try body(dictionary, line)
    }
    return GenerationManifest.SourceEntry(path: path, bytes: data.count, crc32c: crc)
  }

  private static func string(_ object: [String: Any], _ key: String, _ place: String, required: Bool = false) throws -> String {
    guard let raw = object[key], !(raw is NSNull) else {
      if required { throw FunnelError(.invalidArgument, "\(place): '\(key)' is missing") }
      return ""
    }
    guard let s = raw as? String else { throw FunnelError(.invalidArgument, "\(place): '\(key)' must be a string") }
    return s
  }

  private static func number(_ object: [String: Any], _ key: String, _ place: String) throws -> Double? {
    guard let raw = object[key], !(raw is NSNull) else { return nil }
    guard !isBoolean(raw), let n = raw as? NSNumber else { throw FunnelError(.invalidArgument, "\(place): '\(key)' must be a number") }
    return n.doubleValue
  }

  /// Whether a JSONSerialization value is a JSON true/false (Foundation bridges numbers to Bool too,
  /// so `is Bool` cannot tell them apart).
  static func isBoolean(_ value: Any) -> Bool { String(describing: type(of: value)).contains("Boolean") || value is Bool && !(value is NSNumber) }

  private static func checkID(_ id: String, _ key: String, _ place: String) throws {
    guard (1...IDLimits.maxIDBytes).contains(id.utf8.count) else {
      throw FunnelError(.invalidArgument, "\(place): '\(key)' must be 1...\(IDLimits.maxIDBytes) bytes")
    }
  }
}
