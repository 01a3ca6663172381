import DemoCatalog
import Foundation
import FunnelCore
import IndexBuilder
import Testing

@Suite struct JSONLinesTests {
  static func file(_ text: String) throws -> String {
    let path = NSTemporaryDirectory() + "funnel-jsonl-\(UUID().uuidString).jsonl"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test func roundTripsTheDemoStore() throws {
    let store = DemoStore(.small())
    let items = NSTemporaryDirectory() + "funnel-items-\(UUID().uuidString).jsonl"
    let events = NSTemporaryDirectory() + "funnel-events-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: items); try? FileManager.default.removeItem(atPath: events) }
    try JSONLines.writeCatalog(store.items, to: items)
    try JSONLines.writeEvents(store.events, to: events)
    let (readItems, source) = try JSONLines.readCatalog(path: items)
    #expect(readItems == store.items)
    #expect(source.bytes > 0)
    #expect(try JSONLines.readEvents(path: events).0 == store.events)
  }

  @Test(arguments: [
    ("{\"id\":\"a\",\"category\":\"x\",\"price\":1}\n{\"id\":\"a\",\"category\":\"x\"}", "line 1", ":2:"),
    ("{\"id\":\"a\",\"category\":\"x\"}\n\nnot json", "not valid JSON", ":3:"),
    ("{\"id\":\"\",\"category\":\"x\"}", "'id'", ":1:"),
    ("{\"id\":\"a\"}", "'category' is missing", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"price\":-2}", "'price'", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"price\":\"9\"}", "'price' must be a number", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"in_stock\":1}", "'in_stock'", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"tags\":[1]}", "'tags'", ":1:"),
    ("[1,2]", "JSON object", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"attrs\":[1]}", "'attrs' must be an object", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"attrs\":{\"bad name\":1}}", "attribute name 'bad name'", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"attrs\":{\"size\":[1]}}", "attribute 'size' must be", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"attrs\":{\"Size\":1,\"size\":2}}", "appears twice", ":1:"),
    ("{\"id\":\"a\",\"category\":\"x\",\"attrs\":{\"note\":\"\"}}", "attribute 'note' must be 1-256 bytes", ":1:"),
  ])
  func catalogErrorsNameTheLine(text: String, expected: String, line: String) throws {
    let path = try Self.file(text)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let error = #expect(throws: FunnelError.self) { try JSONLines.readCatalog(path: path) }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(path + line) == true, "\(error?.message ?? "")")
  }

  @Test func attributesKeepTheirTypes() throws {
    let path = try Self.file("{\"id\":\"a\",\"category\":\"x\",\"attrs\":{\"Colour\":\"Red\",\"size\":42,\"organic\":true,\"gone\":null}}")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let item = try #require(try JSONLines.readCatalog(path: path).0.first)
    #expect(item.attributes == ["colour": .text("Red"), "size": .number(42), "organic": .text("true")])
  }

  @Test func categoryPathsAreSplitAndTrimmedAlike() throws {
    // ASCII paths are split on bytes, others by characters: both trim spaces and tabs and drop empty parts.
    let cases: [(String, [String])] = [
      (" Home / Lighting\t/ /lamps ", ["Home", "Lighting", "lamps"]),
      ("a//b/", ["a", "b"]),
      ("Café / Crème brûlée", ["Café", "Crème brûlée"]),
      ("\u{3000}Home\u{3000}/ x", ["Home", "x"]),
      ("x\u{0301}/y", ["x\u{0301}", "y"]),
      ("keep\r/ inner  spaces ", ["keep\r", "inner  spaces"]),
    ]
    let text = cases.indices.map { "{\"id\":\"i\($0)\",\"category\":\(Self.quoted(cases[$0].0))}" }.joined(separator: "\n")
    let path = try Self.file(text)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let items = try JSONLines.readCatalog(path: path).0
    #expect(items.map(\.categoryPath) == cases.map(\.1))
    let empty = try Self.file("{\"id\":\"a\",\"category\":\" / \\t/\"}")
    defer { try? FileManager.default.removeItem(atPath: empty) }
    let error = #expect(throws: FunnelError.self) { try JSONLines.readCatalog(path: empty) }
    #expect(error?.message.contains("'category' is empty") == true, "\(error?.message ?? "")")
  }

  /// `text` as a JSON string.
  static func quoted(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self).dropFirst().dropLast().description
  }

  @Test func eventsAcceptISOTimestampsAndRefuseUnknownTypes() throws {
    let good = try Self.file("{\"user_id\":\"u\",\"item_id\":\"i\",\"type\":\"purchase\",\"timestamp\":\"2026-01-02T03:04:05Z\",\"quantity\":3}")
    defer { try? FileManager.default.removeItem(atPath: good) }
    let event = try #require(try JSONLines.readEvents(path: good).0.first)
    #expect(event.timestampMs == 1_767_323_045_000 && event.quantity == 3 && event.eventID == "line-1")
    let bad = try Self.file("{\"user_id\":\"u\",\"item_id\":\"i\",\"type\":\"like\",\"timestamp_ms\":1}")
    defer { try? FileManager.default.removeItem(atPath: bad) }
    let error = #expect(throws: FunnelError.self) { try JSONLines.readEvents(path: bad) }
    #expect(error?.message.contains("'type' like") == true)
  }

  /// Lines parsed on several threads in batches arrive in file order, and a bad line stops the read
  /// after every item before it, naming the earliest bad line (a later one in another thread's share
  /// of the same batch, or in a later batch, never wins).
  @Test(arguments: [(1, 10_000), (4, 128), (3, 7)])
  func parallelBatchesKeepFileOrderAndStopAtTheFirstBadLine(workers: Int, batchSize: Int) throws {
    let store = DemoStore(.small())
    let items = store.items
    try #require(items.count >= 300)
    let good = NSTemporaryDirectory() + "funnel-batches-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: good) }
    try JSONLines.writeCatalog(items, to: good)
    var read: [CatalogItem] = []
    var batches = 0
    _ = try JSONLines.forEachItemBatch(path: good, workers: workers, batchSize: batchSize) { batch in
      #expect(batch.count <= batchSize)
      read += batch
      batches += 1
    }
    #expect(read == items && batches == (items.count + batchSize - 1) / batchSize)

    var lines = try String(contentsOfFile: good, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    let (first, second) = (items.count * 7 / 10, items.count * 9 / 10)  // 0-based
    lines[first] = "{\"id\":\"x\",\"category\":\"\"}"
    lines[second] = "not json"
    let bad = try Self.file(lines.joined(separator: "\n"))
    defer { try? FileManager.default.removeItem(atPath: bad) }
    read = []
    let error = #expect(throws: FunnelError.self) {
      try JSONLines.forEachItemBatch(path: bad, workers: workers, batchSize: batchSize) { read += $0 }
    }
    #expect(error?.message.contains(bad + ":\(first + 1): 'category' is empty") == true, "\(error?.message ?? "")")
    #expect(read == Array(items.prefix(first)))
  }

  /// When the body throws, the read stops at that batch with the body's error.
  @Test(arguments: [(1, 16), (2, 7)])
  func aThrowingBodyStopsTheReadAtItsBatch(workers: Int, batchSize: Int) throws {
    struct Stop: Error {}
    let items = Array(DemoStore(.small()).items.prefix(200))
    let path = NSTemporaryDirectory() + "funnel-stop-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try JSONLines.writeCatalog(items, to: path)
    var batches = 0
    #expect(throws: Stop.self) {
      try JSONLines.forEachItemBatch(path: path, workers: workers, batchSize: batchSize) { _ in
        batches += 1
        if batches == 3 { throw Stop() }
      }
    }
    #expect(batches == 3)
  }

  /// A repeated id found by its hash is confirmed by reading the file again, and both lines named,
  /// across batches.
  @Test func aRepeatedIDIsNamedWithItsFirstLineAcrossBatches() throws {
    let items = Array(DemoStore(.small()).items.prefix(300))
    var copy = items
    copy[249].id = items[2].id
    let path = NSTemporaryDirectory() + "funnel-repeat-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try JSONLines.writeCatalog(copy, to: path)
    let error = #expect(throws: FunnelError.self) {
      try JSONLines.forEachItemBatch(path: path, workers: 3, batchSize: 7) { _ in }
    }
    #expect(error?.message == "\(path):250: id '\(items[2].id)' repeats line 3")
  }

  /// A timestamp outside Int64's range is refused with the line, not a trap.
  @Test func anOutOfRangeTimestampIsRefused() throws {
    let path = try Self.file("{\"user_id\":\"u\",\"item_id\":\"i\",\"type\":\"view\",\"timestamp_ms\":1e30}")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let error = #expect(throws: FunnelError.self) { try JSONLines.readEvents(path: path) }
    #expect(error?.message.contains(path + ":1: the timestamp is out of range") == true, "\(error?.message ?? "")")
  }
}
