import Foundation
import FunnelCore
import Ingest
import Testing

@Suite struct AmazonTests {
  @Test func metadataAndRatings() throws {
    let dir = NSTemporaryDirectory() + "az-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let meta = [
      #"{"asin": "A1", "title": "<span class=\"x\"", "brand": "Reason &amp; Co", "category": ["Magazine Subscriptions", "News", "Politics"], "details": {"Format:": "Print Magazine"}}"#,
      #"{"asin": "A1", "title": "dup", "brand": "", "category": []}"#,
      #"{"asin": "A2", "title": "Guitar Player", "brand": "NewBay", "category": ["Magazine Subscriptions"]}"#,
    ].joined(separator: "\n") + "\n"
    try meta.write(toFile: dir + "/meta.json", atomically: true, encoding: .utf8)
    try "item,user,rating,timestamp\nA1,u1,5.0,1005177600\nA2,u1,2.0,1005264000\nA1,u1,4.0,1005350400\nB9,u2,3.0,1005177600\n"
      .write(toFile: dir + "/ratings.csv", atomically: true, encoding: .utf8)
    let shop = try Amazon.ingest(directory: dir)
    #expect(shop.items.map(\.id) == ["A1", "A2", "B9"])
    #expect(shop.items[0].title == "Reason & Co" && shop.items[0].categoryPath == ["News", "Politics"] && shop.items[0].tags == ["print magazine"])
    #expect(shop.items[1].title == "Guitar Player" && shop.items[1].categoryPath == ["other"])
    #expect(shop.events.count == 3 && shop.events.allSatisfy { $0.kind == .purchase }, "every rating is a purchase; a repeated pair counts once")
    let report = Dictionary(uniqueKeysWithValues: shop.report.map { ($0.rule, $0.rows) })
    #expect(report["duplicate meta lines"] == 1 && report["repeated (user, item) ratings"] == 1 && report["rated products without metadata"] == 1)
  }
}
