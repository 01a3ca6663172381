import Foundation
import FunnelCore
import FunnelJSON
import IndexFormat
import MappedStorage
import Synchronization

/// Reads and writes the catalog and event JSON-lines files (schema: `Indexes/README.md`).
///
/// Reading streams line by line over the mapped file (`JSONValue` parses each line); every error
/// names the file, the line and the field. Writing is the inverse (`JSONLinesWriter`).
public enum JSONLines {
  /// Reads a catalog: one item per line. Throws `invalidArgument` at the first bad line, or for a
  /// duplicate id (naming both lines). Returns the items and the file's digest for the manifest.
  public static func readCatalog(path: String) throws -> ([CatalogItem], GenerationManifest.SourceEntry) {
    var items: [CatalogItem] = []
    let source = try forEachItemBatch(path: path) { items += $0 }
    return (items, source)
  }

  /// Streams a catalog in batches of up to `batchSize` items, in file order, holding two batches of
  /// lines at a time: each batch's lines are parsed on `workers` threads (`defaultWorkers`: one per
  /// core) while `body` gets the batch before on the caller's thread. A bad line ends the stream:
  /// `body` gets the items before it, then the error is thrown. Errors as `readCatalog`.
  ///
  /// A repeated id is found with 8 bytes per item (a set of id hashes); only when a hash repeats is
  /// the file read again up to that line, to confirm the id and name its first line.
  public static func forEachItemBatch(path: String, workers: Int = defaultWorkers, batchSize: Int = 2_048,
                                      _ body: ([CatalogItem]) throws -> Void) throws -> GenerationManifest.SourceEntry
  {
    var seen = Set<UInt64>()
    var dimension: (Int, Int)?
    return try forEachBatch(path: path, fields: itemFields, workers: workers, batchSize: batchSize, context: { () }) { _, object, place in
      try item(object, place)
    } _: { items, lines in
      // The checks that need the lines before: a repeated id, the embedding dimension.
      for (item, line) in zip(items, lines) {
        if !seen.insert(ItemTable.hash(item.id)).inserted, let first = try firstLine(of: item.id, in: path, before: line) {
          throw FunnelError(.invalidArgument, "\(path):\(line): id '\(item.id)' repeats line \(first)")
        }
        if !item.embedding.isEmpty {
          if dimension == nil { dimension = (item.embedding.count, line) }
          guard item.embedding.count == dimension!.0 else {
            throw FunnelError(.invalidArgument,
                              "\(path):\(line): 'embedding' has \(item.embedding.count) values, line \(dimension!.1) has \(dimension!.0)")
          }
        }
      }
      try body(items)
    }
  }

  /// The first line before `line` holding an item with `id`, nil when none does (two ids with the
  /// same hash). Reads the file again, one thread: only for a repeated hash.
  private static func firstLine(of id: String, in path: String, before line: Int) throws -> Int? {
    var found: Int?
    _ = try forEachBatch(path: path, fields: itemFields, workers: 1, batchSize: 4_096, context: { () }) { _, object, _ in
      if case .string(let text) = object[0] { text } else { "" }
    } _: { ids, lines in
      guard found == nil, let first = lines.first, first < line else { return }
      found = zip(ids, lines).first { $0.0 == id && $0.1 < line }?.1
    }
    return found
  }

  /// The number of threads the readers parse on by default: the active processors (at least 1).
  public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

  /// One catalog item from its JSON line (the catalog change feed's payload); errors name `place`.
  public static func item(line: String, place: String) throws -> CatalogItem {
    var line = line
    var values: [JSONValue?] = []
    guard line.withUTF8({ JSONValue.parseObject(UnsafeRawBufferPointer($0), fields: itemFields, into: &values) }) else {
      throw FunnelError(.invalidArgument, "\(place): not a JSON object")
    }
    return try item(values, Place(path: place, line: 0))
  }

  /// Where a value came from, for error messages: formatted only when one is thrown, since the
  /// readers pass one per line.
  struct Place: CustomStringConvertible, Sendable {
    /// The file (or another source's name).
    let path: String
    /// The 1-based line; 0 when `path` alone names the source.
    let line: Int
    var description: String { line > 0 ? "\(path):\(line)" : path }
  }

  /// The members of a catalog line, in the order `item` reads them.
  static let itemFields = JSONFields(["id", "category", "price", "tags", "embedding", "in_stock", "title", "brand", "attrs"])
  /// The members of an event line, in the order `forEachEvent` reads them.
  static let eventFields = JSONFields(["user_id", "item_id", "type", "timestamp_ms", "timestamp", "quantity", "event_id",
                                       "session_id", "price"])

  /// One catalog item from a line's object (ids, category, price, tags, embedding, stock, attributes
  /// checked; a repeated id and the embedding dimension are the file's concern).
  static func item(_ object: [JSONValue?], _ place: Place) throws -> CatalogItem {
    let id = try string(object[0], "id", place, required: true)
    try checkID(id, "id", place)
    let categoryText = try string(object[1], "category", place, required: true)
    let path = categoryPath(categoryText)
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
    let source = try forEachEventBatch(path: path) { events += $0 }
    return (events, source)
  }

  /// Streams behaviour events in batches of up to `batchSize`, in file order, as `forEachItemBatch`
  /// streams items. Errors as `readEvents`.
  public static func forEachEventBatch(path: String, workers: Int = defaultWorkers, batchSize: Int = 8_192,
                                       _ body: ([BehaviourEvent]) throws -> Void) throws -> GenerationManifest.SourceEntry
  {
    // A formatter per worker and batch, made only when a line has an ISO 8601 timestamp.
    try forEachBatch(path: path, fields: eventFields, workers: workers, batchSize: batchSize,
                     context: { ISO8601Parser() }) { iso, object, place in
      try event(object, place, iso: &iso)
    } _: { events, _ in
      try body(events)
    }
  }

  /// Parses ISO 8601 timestamps with a formatter made on first use (one per reading thread:
  /// formatters are not shared across threads).
  struct ISO8601Parser {
    private var formatter: ISO8601DateFormatter?
    /// Unix ms of `text`, nil when it is not an ISO 8601 date-time.
    mutating func milliseconds(_ text: String) -> Double? {
      if formatter == nil { formatter = ISO8601DateFormatter() }
      return formatter!.date(from: text).map { $0.timeIntervalSince1970 * 1000 }
    }
  }

  /// One event from a line's object; errors name `place`.
  static func event(_ object: [JSONValue?], _ place: Place, iso: inout ISO8601Parser) throws -> BehaviourEvent {
    let user = try string(object[0], "user_id", place, required: true)
    let item = try string(object[1], "item_id", place, required: true)
    try checkID(user, "user_id", place)
    try checkID(item, "item_id", place)
    let typeName = try string(object[2], "type", place, required: true)
    guard let kind = EventKind(rawValue: typeName) else {
      throw FunnelError(.invalidArgument, "\(place): 'type' \(typeName) is not one of \(EventKind.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let milliseconds: Double
    if let ms = try number(object[3], "timestamp_ms", place) {
      milliseconds = ms
    } else if case .string(let text) = object[4], let ms = iso.milliseconds(text) {
      milliseconds = ms
    } else {
      throw FunnelError(.invalidArgument, "\(place): needs 'timestamp_ms' (Unix ms) or 'timestamp' (ISO 8601)")
    }
    // Checked: a number out of Int64's range must be refused, not trap.
    guard let timestamp = Int64(exactly: milliseconds.rounded(.towardZero)) else {
      throw FunnelError(.invalidArgument, "\(place): the timestamp is out of range")
    }
    let quantity = try number(object[5], "quantity", place) ?? 1
    guard quantity >= 0, quantity <= 1_000_000 else { throw FunnelError(.invalidArgument, "\(place): 'quantity' is out of range") }
    let eventID = try string(object[6], "event_id", place)
    return BehaviourEvent(
      eventID: eventID.isEmpty ? "line-\(place.line)" : eventID, userID: user, sessionID: try string(object[7], "session_id", place),
      itemID: item, kind: kind, timestampMs: timestamp, quantity: UInt32(max(1, quantity)),
      price: try number(object[8], "price", place) ?? 0)
  }

  /// Writes items as catalog JSON lines (`JSONLinesWriter`).
  public static func writeCatalog(_ items: [CatalogItem], to path: String) throws {
    var writer = try JSONLinesWriter(path: path)
    for item in items { try writer.write(item) }
    try writer.close()
  }

  /// `attrs`: an object of names (`a-z`, `0-9`, `_`; upper case is folded) to strings, finite numbers
  /// or booleans (stored as the text `true`/`false`).
  static func attributes(_ raw: JSONValue?, _ place: Place) throws -> [String: AttributeValue] {
    guard let raw, raw != .null else { return [:] }
    guard case .object(let object) = raw else { throw FunnelError(.invalidArgument, "\(place): 'attrs' must be an object") }
    var result: [String: AttributeValue] = [:]
    result.reserveCapacity(object.count)
    for (key, value) in object {
      // Names are nearly always lower-case already: lowercased() only when one is not.
      let name = key.utf8.contains(where: { $0 &- UInt8(ascii: "A") < 26 || $0 >= 0x80 }) ? key.lowercased() : key
      guard AttributeValue.isValidName(name) else {
        throw FunnelError(.invalidArgument, "\(place): attribute name '\(key)' must be 1-64 characters of a-z, 0-9 and _")
      }
      let attribute: AttributeValue
      switch value {
      case .bool(let flag):
        attribute = .text(flag ? "true" : "false")
      case .number(let number):
        guard number.isFinite else { throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' is not a finite number") }
        attribute = .number(number)
      case .string(let text):
        guard !text.isEmpty, text.utf8.count <= 256, !text.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
          throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' must be 1-256 bytes of text without control characters")
        }
        attribute = .text(text)
      case .null:
        continue
      case .array, .object:
        throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' must be a string, a number or a boolean")
      }
      // One lookup: names differing only in case meet here.
      guard result.updateValue(attribute, forKey: name) == nil else {
        throw FunnelError(.invalidArgument, "\(place): attribute '\(name)' appears twice")
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

  /// Reads `path` in batches of up to `batchSize` non-blank lines: `parse` turns each line's object
  /// (the members `fields` names) into a value on one of `workers` threads (each with its own
  /// `context`, made per batch), then `body` gets the batch's values and their 1-based line numbers
  /// in file order on the caller's thread, while the next batch is parsed. A line that is not a
  /// JSON object, or that `parse` refuses, ends the read: `body` gets the values before it, then its
  /// error is thrown. Returns the file's size and CRC-32C (of every byte, read once on the caller's
  /// thread).
  private static func forEachBatch<Value: Sendable, Context>(
    path: String, fields: JSONFields, workers: Int, batchSize: Int, context: @Sendable () -> Context,
    _ parse: @Sendable (inout Context, [JSONValue?], Place) throws -> Value,
    _ body: ([Value], [Int]) throws -> Void
  ) throws -> GenerationManifest.SourceEntry {
    // Throws `.notFound` or `.failedPrecondition` naming the path and the system's reason.
    let region = try ByteRegion(mapping: path)
    let workers = max(1, workers), batchSize = max(1, batchSize)
    var crc: UInt32 = 0
    var line = 0
    var position = 0, dropped = 0
    /// The next batch's line spans (empty at the end of the file), found with memchr on this thread;
    /// its bytes are checksummed as they go.
    func nextBatch() throws -> (spans: [Span], end: Int) {
      var spans: [Span] = []
      spans.reserveCapacity(min(batchSize, 65_536))
      try region.withBytes(offset: 0, length: region.count) { all in
        guard let base = all.baseAddress else { return }
        let from = position
        while position < all.count && spans.count < batchSize {
          let newline = memchr(base + position, 0x0A, all.count - position)
          let end = newline.map { base.distance(to: UnsafeRawPointer($0)) } ?? all.count
          line += 1
          if all[position..<end].contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
            spans.append(Span(start: position, end: end, line: line))
          }
          position = min(end + 1, all.count)
        }
        crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[from..<position]), seed: crc)
      }
      return (spans, position)
    }
    // Reading ahead: the next batch is parsed on other threads while `body` folds this one on the
    // caller's, so a fold that runs on one thread (events) no longer leaves a core idle, and the
    // two phases' uneven ends fill each other's gaps. At most two batches are held at once.
    var batch = try nextBatch()
    var parsed = parseBatch(region, batch.spans, fields: fields, workers: workers, context: context, parse)
    while true {
      // The batch's lines are parsed: their pages need not stay resident (a 10M-line file would
      // otherwise count whole in the process's memory).
      region.dropPages(offset: dropped, length: batch.end - dropped)
      dropped = batch.end - batch.end % ByteRegion.pageSize
      let following = parsed.failure == nil ? try nextBatch() : (spans: [], end: position)
      let lines = batch.spans.prefix(parsed.values.count).map(\.line)
      guard !following.spans.isEmpty else {
        try body(parsed.values, lines)
        if let failure = parsed.failure { throw failure }
        break
      }
      let next = try ForkJoin.alongside({
        parseBatch(region, following.spans, fields: fields, workers: workers, context: context, parse)
      }, { try body(parsed.values, lines) })
      (batch, parsed) = (following, next)
    }
    return GenerationManifest.SourceEntry(path: path, bytes: region.count, crc32c: crc)
  }

  /// One non-blank line: its bytes `start ..< end` and its 1-based number.
  private struct Span: Sendable {
    let start: Int, end: Int, line: Int
  }

  /// The values of `spans` in order, parsed on up to `workers` threads (contiguous shares, so each
  /// thread's first failure is its earliest), up to the first line that fails, and that failure.
  private static func parseBatch<Value: Sendable, Context>(
    _ region: ByteRegion, _ spans: [Span], fields: JSONFields, workers: Int, context: @Sendable () -> Context,
    _ parse: @Sendable (inout Context, [JSONValue?], Place) throws -> Value
  ) -> (values: [Value], failure: (any Error)?) {
    let path = region.path
    let results = ForkJoin.shares(spans.count, min(workers, max(1, spans.count / 64))) { share -> (values: [Value], failure: (any Error)?) in
      var values: [Value] = []
      values.reserveCapacity(share.count)
      var object: [JSONValue?] = []
      var state = context()
      for span in spans[share] {
        do {
          let ok = try region.withBytes(offset: span.start, length: span.end - span.start) {
            JSONValue.parseObject($0, fields: fields, into: &object)
          }
          if !ok {
            // The whole parser tells the two refusals apart (only for the line that fails).
            let valid = try region.withBytes(offset: span.start, length: span.end - span.start) { JSONValue.parse($0) != nil }
            throw FunnelError(.invalidArgument,
                              valid ? "\(path):\(span.line): each line must be a JSON object" : "\(path):\(span.line): not valid JSON")
          }
          values.append(try parse(&state, object, Place(path: path, line: span.line)))
        } catch {
          return (values, error)
        }
      }
      return (values, nil)
    }
    guard results.count > 1 else { return results[0] }
    var values: [Value] = []
    values.reserveCapacity(spans.count)
    for (some, failure) in results {
      values += some
      if let failure { return (values, failure) }
    }
    return (values, nil)
  }

  private static func string(_ raw: JSONValue?, _ key: String, _ place: Place, required: Bool = false) throws -> String {
    guard let raw, raw != .null else {
      if required { throw FunnelError(.invalidArgument, "\(place): '\(key)' is missing") }
      return ""
    }
    guard case .string(let s) = raw else { throw FunnelError(.invalidArgument, "\(place): '\(key)' must be a string") }
    return s
  }

  private static func number(_ raw: JSONValue?, _ key: String, _ place: Place) throws -> Double? {
    guard let raw, raw != .null else { return nil }
    guard case .number(let n) = raw, n.isFinite else { throw FunnelError(.invalidArgument, "\(place): '\(key)' must be a number") }
    return n
  }

  /// A category's path: its `/`-separated parts, trimmed, empty ones left out. ASCII text (nearly
  /// every category) is split on bytes; other text by characters, so a `/` joined to a combining mark
  /// stays one character as before.
  static func categoryPath(_ text: String) -> [String] {
    var text = text
    if let ascii = text.withUTF8({ bytes -> [String]? in
      guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
      // In ASCII, the spaces `trimmedSpaces` trims are the space and the tab.
      func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
      var parts: [String] = []
      var start = 0
      for end in 0...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: "/") {
        var (from, to) = (start, end)
        while from < to, isSpace(bytes[from]) { from += 1 }
        while to > from, isSpace(bytes[to - 1]) { to -= 1 }
        if from < to { parts.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self)) }
        start = end + 1
      }
      return parts
    }) {
      return ascii
    }
    return text.split(separator: "/").map(trimmedSpaces).filter { !$0.isEmpty }
  }

  /// `text` without leading and trailing spaces and tabs (what `CharacterSet.whitespaces` holds:
  /// space separators and tab), without Foundation's bridging, which cost a third of catalog reading.
  static func trimmedSpaces(_ text: Substring) -> String {
    // Nearly every part begins and ends with a visible ASCII character: no scalar properties then.
    if let first = text.utf8.first, let last = text.utf8.last, first > 0x20, first < 0x80, last > 0x20, last < 0x80 {
      return String(text)
    }
    func isSpace(_ s: Unicode.Scalar) -> Bool { s == "\t" || s.properties.generalCategory == .spaceSeparator }
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
    let last = scalars.lastIndex(where: { !isSpace($0) })!
    return String(scalars[first...last])
  }

  private static func checkID(_ id: String, _ key: String, _ place: Place) throws {
    guard (1...IDLimits.maxIDBytes).contains(id.utf8.count) else {
      throw FunnelError(.invalidArgument, "\(place): '\(key)' must be 1...\(IDLimits.maxIDBytes) bytes")
    }
  }
}
