import Foundation
import FunnelCore
import FunnelJSON
import IndexFormat

/// Reads and writes the catalog and event JSON-lines files (schema: `Indexes/README.md`).
///
/// Reading streams line by line over the mapped file (`JSONValue` parses each line); every error
/// names the file, the line and the field. Writing is the inverse (`JSONLinesWriter`).
public enum JSONLines {
  /// Reads a catalog: one item per line. Throws `invalidArgument` at the first bad line, or for a
  /// duplicate id (naming both lines). Returns the items and the file's digest for the manifest.
  public static func readCatalog(path: String) throws -> ([CatalogItem], GenerationManifest.SourceEntry) {
    var items: [CatalogItem] = []
    let source = try forEachItem(path: path) { items.append($0) }
    return (items, source)
  }

  /// Streams a catalog: calls `body` with each item in file order, holding one line at a time (plus
  /// the ids seen, to name a repeated id's first line). Errors as `readCatalog`.
  public static func forEachItem(path: String, _ body: (CatalogItem) throws -> Void) throws -> GenerationManifest.SourceEntry {
    var lineOfID: [String: Int] = [:]
    var dimension: (Int, Int)?
    return try forEachObject(path: path, fields: itemFields) { object, line in
      let place = "\(path):\(line)"
      let item = try self.item(object, place)
      if let first = lineOfID[item.id] { throw FunnelError(.invalidArgument, "\(place): id '\(item.id)' repeats line \(first)") }
      lineOfID[item.id] = line
      if !item.embedding.isEmpty {
        if dimension == nil { dimension = (item.embedding.count, line) }
        guard item.embedding.count == dimension!.0 else {
          throw FunnelError(.invalidArgument,
                            "\(place): 'embedding' has \(item.embedding.count) values, line \(dimension!.1) has \(dimension!.0)")
        }
      }
      try body(item)
    }
  }

  /// One catalog item from its JSON line (the catalog change feed's payload); errors name `place`.
  public static func item(line: String, place: String) throws -> CatalogItem {
    var line = line
    var values: [JSONValue?] = []
    guard line.withUTF8({ JSONValue.parseObject(UnsafeRawBufferPointer($0), fields: itemFields, into: &values) }) else {
      throw FunnelError(.invalidArgument, "\(place): not a JSON object")
    }
    return try item(values, place)
  }

  /// The members of a catalog line, in the order `item` reads them.
  static let itemFields = JSONFields(["id", "category", "price", "tags", "embedding", "in_stock", "title", "brand", "attrs"])
  /// The members of an event line, in the order `forEachEvent` reads them.
  static let eventFields = JSONFields(["user_id", "item_id", "type", "timestamp_ms", "timestamp", "quantity", "event_id",
                                       "session_id", "price"])

  /// One catalog item from a line's object (ids, category, price, tags, embedding, stock, attributes
  /// checked; a repeated id and the embedding dimension are the file's concern).
  static func item(_ object: [JSONValue?], _ place: String) throws -> CatalogItem {
    let id = try string(object[0], "id", place, required: true)
    try checkID(id, "id", place)
    let categoryText = try string(object[1], "category", place, required: true)
    let path = categoryText.split(separator: "/").map(trimmedSpaces).filter { !$0.isEmpty }
    guard !path.isEmpty else { throw FunnelError(.invalidArgument, "\(place): 'category' is empty") }
    let price = try number(object[2], "price", place) ?? 0
    guard price.isFinite, price >= 0 else { throw FunnelError(.invalidArgument, "\(place): 'price' must be a non-negative number") }
    var tags: [String] = []
    if let raw = object[3], raw != .null {
      guard case .array(let list) = raw else { throw FunnelError(.invalidArgument, "\(place): 'tags' must be a list of strings") }
      tags = try list.map { value in
        guard case .string(let tag) = value else { throw FunnelError(.invalidArgument, "\(place): 'tags' must be a list of strings") }
        return tag
      }
    }
    var embedding: [Float] = []
    if let raw = object[4], raw != .null {
      let bad = FunnelError(.invalidArgument, "\(place): 'embedding' must be a list of finite numbers")
      guard case .array(let list) = raw else { throw bad }
      embedding = try list.map { value in
        guard case .number(let x) = value, x.isFinite, abs(x) <= Double(Float.greatestFiniteMagnitude) else { throw bad }
        return Float(x)
      }
    }
    var inStock = true
    if let raw = object[5], raw != .null {
      guard case .bool(let flag) = raw else { throw FunnelError(.invalidArgument, "\(place): 'in_stock' must be true or false") }
      inStock = flag
    }
    return CatalogItem(id: id, title: try string(object[6], "title", place), categoryPath: path,
                       brand: try string(object[7], "brand", place), price: price, tags: tags, inStock: inStock,
                       embedding: embedding, attributes: try attributes(object[8], place))
  }

  /// Reads behaviour events: `user_id`, `item_id`, `type`, and `timestamp_ms` (Unix ms) or
  /// `timestamp` (ISO 8601); optional `event_id` (default: file line), `quantity`, `price`, `session_id`.
  public static func readEvents(path: String) throws -> ([BehaviourEvent], GenerationManifest.SourceEntry) {
    var events: [BehaviourEvent] = []
    let source = try forEachEvent(path: path) { events.append($0) }
    return (events, source)
  }

  /// Streams behaviour events: calls `body` with each event in file order, one line at a time.
  /// Errors as `readEvents`.
  public static func forEachEvent(path: String, _ body: (BehaviourEvent) throws -> Void) throws -> GenerationManifest.SourceEntry {
    let iso = ISO8601DateFormatter()
    return try forEachObject(path: path, fields: eventFields) { object, line in
      let place = "\(path):\(line)"
      let user = try string(object[0], "user_id", place, required: true)
      let item = try string(object[1], "item_id", place, required: true)
      try checkID(user, "user_id", place)
      try checkID(item, "item_id", place)
      let typeName = try string(object[2], "type", place, required: true)
      guard let kind = EventKind(rawValue: typeName) else {
        throw FunnelError(.invalidArgument, "\(place): 'type' \(typeName) is not one of \(EventKind.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      let timestamp: Int64
      if let ms = try number(object[3], "timestamp_ms", place) {
        timestamp = Int64(ms)
      } else if case .string(let text) = object[4], let date = iso.date(from: text) {
        timestamp = Int64(date.timeIntervalSince1970 * 1000)
      } else {
        throw FunnelError(.invalidArgument, "\(place): needs 'timestamp_ms' (Unix ms) or 'timestamp' (ISO 8601)")
      }
      let quantity = try number(object[5], "quantity", place) ?? 1
      guard quantity >= 0, quantity <= 1_000_000 else { throw FunnelError(.invalidArgument, "\(place): 'quantity' is out of range") }
      let eventID = try string(object[6], "event_id", place)
      try body(BehaviourEvent(
        eventID: eventID.isEmpty ? "line-\(line)" : eventID, userID: user, sessionID: try string(object[7], "session_id", place),
        itemID: item, kind: kind, timestampMs: timestamp, quantity: UInt32(max(1, quantity)),
        price: try number(object[8], "price", place) ?? 0))
    }
  }

  /// Writes items as catalog JSON lines (`JSONLinesWriter`).
  public static func writeCatalog(_ items: [CatalogItem], to path: String) throws {
    var writer = try JSONLinesWriter(path: path)
    for item in items { try writer.write(item) }
    try writer.close()
  }

  /// `attrs`: an object of names (`a-z`, `0-9`, `_`; upper case is folded) to strings, finite numbers
  /// or booleans (stored as the text `true`/`false`).
  static func attributes(_ raw: JSONValue?, _ place: String) throws -> [String: AttributeValue] {
    guard let raw, raw != .null else { return [:] }
    guard case .object(let object) = raw else { throw FunnelError(.invalidArgument, "\(place): 'attrs' must be an object") }
    var result: [String: AttributeValue] = [:]
    for (key, value) in object {
      let name = key.lowercased()
      guard AttributeValue.isValidName(name) else {
        throw FunnelError(.invalidArgument, "\(place): attribute name '\(key)' must be 1-64 characters of a-z, 0-9 and _")
      }
      guard result[name] == nil else { throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' appears twice") }
      switch value {
      case .bool(let flag):
        result[name] = .text(flag ? "true" : "false")
      case .number(let number):
        guard number.isFinite else { throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' is not a finite number") }
        result[name] = .number(number)
      case .string(let text):
        guard !text.isEmpty, text.utf8.count <= 256, !text.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
          throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' must be 1-256 bytes of text without control characters")
        }
        result[name] = .text(text)
      case .null:
        continue
      case .array, .object:
        throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' must be a string, a number or a boolean")
      }
    }
    return result
  }

  /// Writes events as event JSON lines (`JSONLinesWriter`).
  public static func writeEvents(_ events: [BehaviourEvent], to path: String) throws {
    var writer = try JSONLinesWriter(path: path)
    for event in events { try writer.write(event) }
    try writer.close()
  }

  /// Calls `body` with each non-blank line's JSON object and its 1-based line number; returns the
  /// file's size and CRC-32C.
  private static func forEachObject(path: String, fields: JSONFields, _ body: ([JSONValue?], Int) throws -> Void) throws
    -> GenerationManifest.SourceEntry
  {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw FunnelError(.notFound, "cannot read \(path): \(error.localizedDescription)")
    }
    // One pass over the mapped bytes: memchr finds line ends, the checksum runs over raw buffers
    // (Data's generic iteration made a 10M-line file take hours).
    var crc: UInt32 = 0
    var line = 0
    var values: [JSONValue?] = []
    try data.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
      guard let base = all.baseAddress, all.count > 0 else { return }
      crc = CRC32C.checksum(all)
      var start = 0
      while start < all.count {
        let newline = memchr(base + start, 0x0A, all.count - start)
        let end = newline.map { base.distance(to: UnsafeRawPointer($0)) } ?? all.count
        line += 1
        let slice = UnsafeRawBufferPointer(rebasing: all[start..<end])
        start = end + 1
        guard slice.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
        guard JSONValue.parseObject(slice, fields: fields, into: &values) else {
          // The whole parser tells the two refusals apart (only for the line that fails).
          guard JSONValue.parse(slice) != nil else { throw FunnelError(.invalidArgument, "\(path):\(line): not valid JSON") }
          throw FunnelError(.invalidArgument, "\(path):\(line): each line must be a JSON object")
        }
        try body(values, line)
      }
    }
    return GenerationManifest.SourceEntry(path: path, bytes: data.count, crc32c: crc)
  }

  private static func string(_ raw: JSONValue?, _ key: String, _ place: String, required: Bool = false) throws -> String {
    guard let raw, raw != .null else {
      if required { throw FunnelError(.invalidArgument, "\(place): '\(key)' is missing") }
      return ""
    }
    guard case .string(let s) = raw else { throw FunnelError(.invalidArgument, "\(place): '\(key)' must be a string") }
    return s
  }

  private static func number(_ raw: JSONValue?, _ key: String, _ place: String) throws -> Double? {
    guard let raw, raw != .null else { return nil }
    guard case .number(let n) = raw, n.isFinite else { throw FunnelError(.invalidArgument, "\(place): '\(key)' must be a number") }
    return n
  }

  /// `text` without leading and trailing spaces and tabs (what `CharacterSet.whitespaces` holds:
  /// space separators and tab), without Foundation's bridging, which cost a third of catalog reading.
  static func trimmedSpaces(_ text: Substring) -> String {
    func isSpace(_ s: Unicode.Scalar) -> Bool { s == "\t" || s.properties.generalCategory == .spaceSeparator }
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
    let last = scalars.lastIndex(where: { !isSpace($0) })!
    return String(scalars[first...last])
  }

  private static func checkID(_ id: String, _ key: String, _ place: String) throws {
    guard (1...IDLimits.maxIDBytes).contains(id.utf8.count) else {
      throw FunnelError(.invalidArgument, "\(place): '\(key)' must be 1...\(IDLimits.maxIDBytes) bytes")
    }
  }
}
