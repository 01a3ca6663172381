import Foundation
import FunnelCore
import IndexFormat
import Ingest
import Testing

// Rows in the fixtures below are from (or edited from) the UCI Online Retail data set, donated by
// Daqing Chen, CC BY 4.0 (Chen, Sain and Guo 2012); see docs/real-data.md, "Data and licences".

@Suite struct CSVReaderTests {
  @Test func readsQuotesCommasLineBreaksAndCRLF() throws {
    var csv = try CSVReader(bytes: Array("a,b,c\r\n1,\"x, \"\"y\"\"\",3\r\n\r\n4,\"two\nlines\",\n".utf8), name: "t.csv")
    #expect(csv.header == ["a", "b", "c"])
    #expect(try csv.nextRecord() == ["1", "x, \"y\"", "3"])
    #expect(try csv.nextRecord() == ["4", "two\nlines", ""])
    #expect(try csv.nextRecord() == nil)
  }

  @Test func anUnterminatedQuoteNamesTheLine() throws {
    var csv = try CSVReader(bytes: Array("a,b\n1,2\n3,\"open\n".utf8), name: "t.csv")
    _ = try csv.nextRecord()
    let error = #expect(throws: FunnelError.self) { try csv.nextRecord() }
    #expect(error?.message.contains("t.csv:3") == true, "\(error?.message ?? "")")
  }
}

@Suite struct OnlineRetailTests {
  /// One row for every cleaning rule (rows from the real log's shapes).
  static let sample = """
    InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
    536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
    536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
    536366,85123a,WHITE HANGING HEART T-LIGHT HOLDER ,2,2010-12-02 09:00:00,2.95,13047.0,United Kingdom
    536367,85123A,damaged,1,2010-12-02 09:00:00,2.55,13047,United Kingdom
    C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,2010-12-01 09:41:00,2.55,14527,United Kingdom
    A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom
    536370,POST,POSTAGE,3,2010-12-01 08:45:00,18,12583,France
    536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,2010-12-01 09:41:00,2.1,15311,United Kingdom
    536382,82567,"AIRLINE LOUNGE,METAL SIGN",0,2010-12-01 09:41:00,2.1,15311,United Kingdom
    536383,22139,RETROSPOT TEA SET CERAMIC 11 PC ,1,2010-12-01 10:00:00,0,15311,United Kingdom
    536384,21506,"FANCY FONT BIRTHDAY CARD, ",24,2010-12-01 10:39:00,0.42,,United Kingdom
    """

  @Test func appliesEveryCleaningRuleAndCountsIt() throws {
    let path = NSTemporaryDirectory() + "retail-\(UUID().uuidString).csv"
    try Self.sample.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let shop = try OnlineRetail.ingest(path: path)
    let report = Dictionary(uniqueKeysWithValues: shop.report.map { ($0.rule, $0.rows) })
    #expect(report["rows read"] == 11 && report["exact duplicate rows"] == 1)
    #expect(report["cancellations and adjustments"] == 2 && report["non-product stock codes"] == 1)
    #expect(report["quantity or price <= 0"] == 2 && report["missing customer (catalog only)"] == 1)
    #expect(report["purchase events"] == 4)
    #expect(shop.items.map(\.id) == ["85123A", "82567", "21506"], "codes upper-cased; the card has no customer but is in the catalog")
    let holder = shop.items[0]
    #expect(holder.title == "WHITE HANGING HEART T-LIGHT HOLDER" && holder.categoryPath == ["holder"] && holder.tags == ["white"])
    #expect(holder.price == 2.55, "median unit price")
    #expect(shop.items[1].title == "AIRLINE LOUNGE,METAL SIGN" && shop.items[1].category == "sign")
    #expect(shop.events.map(\.userID) == ["17850", "15311", "13047", "13047"], "time order; 13047.0 read as 13047")
    #expect(shop.events.allSatisfy { $0.kind == .purchase } && shop.events[0].quantity == 6 && shop.events[0].sessionID == "536365")
    #expect(shop.events[0].timestampMs == 1_291_191_960_000)
    #expect(shop.userFacts["17850"] == ["country": "United Kingdom"])
  }

  @Test func writesTheInputsAndAnIndexGeneration() throws {
    let path = NSTemporaryDirectory() + "retail-\(UUID().uuidString).csv"
    let out = NSTemporaryDirectory() + "retail-out-\(UUID().uuidString)"
    try Self.sample.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: out) }
    let generation = try IngestOutput.write(try OnlineRetail.ingest(path: path), to: out,
                                            asOfMs: OnlineRetail.dayStartMs(year: 2010, month: 12, day: 2))
    let opened = try IndexGeneration.open(directory: generation, verifyChecksums: true)
    #expect(opened.itemCount == 3 && opened.manifest.eventCount == 2, "only the events before the cut-off")
    let users = try String(contentsOfFile: out + "/users.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(users.count == 2 && users[0].contains("\"id\":\"15311\"") && users[0].contains("\"preferred_category\":\"sign\""))
    #expect(FileManager.default.fileExists(atPath: out + "/catalog.jsonl") && FileManager.default.fileExists(atPath: out + "/report.json"))
  }

  @Test func refusesMalformedRowsNamingTheLine() throws {
    let path = NSTemporaryDirectory() + "retail-\(UUID().uuidString).csv"
    try "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n1,85123A,X,six,2010-12-01 08:26:00,2.55,1,UK\n"
      .write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let error = #expect(throws: FunnelError.self) { try OnlineRetail.ingest(path: path) }
    #expect(error?.message.contains(":2:") == true && error?.message.contains("six") == true)
  }

  @Test(arguments: [("JUMBO BAG RED RETROSPOT", "bag"), ("PACK OF 72 RETROSPOT CAKE CASES", "case"),
                    ("SET OF 3 CAKE TINS PANTRY DESIGN", "tin"), ("GLASS STAR FROSTED T-LIGHT HOLDER", "holder"),
                    ("PARTY BUNTING", "bunting"), ("HAND WARMER UNION JACK", "jack"), ("", "other")])
  func productNouns(name: String, category: String) {
    #expect(ProductNoun.category(of: name) == category)
  }
}
