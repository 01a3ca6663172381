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
}
