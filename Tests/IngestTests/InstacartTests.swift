import Foundation
import FunnelCore
import Ingest
import Testing

@Suite struct InstacartTests {
  @Test func basketsBecomeTimedPurchases() throws {
    let dir = NSTemporaryDirectory() + "ic-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func put(_ name: String, _ text: String) throws { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
    try put("aisles.csv", "\"aisle_id\",\"aisle\"\n1,\"soft drinks\"\n2,\"fresh fruits\"\n")
    try put("departments.csv", "\"department_id\",\"department\"\n7,\"beverages\"\n4,\"produce\"\n")
    try put("products.csv", "\"product_id\",\"product_name\",\"aisle_id\",\"department_id\"\n10,\"Sparkling Juice\",1,7\n11,\"Banana\",2,4\n12,\"Apple\",2,4\n")
    try put("orders.csv", """
      "order_id","user_id","eval_set","order_number","order_dow","order_hour_of_day","days_since_prior_order"
      100,5,"prior",3,1,"09",7
      101,5,"prior",2,1,"10",30
      200,6,"prior",4,2,"23",2

      """)
    try put("order_products__prior.csv", """
      "order_id","product_id","add_to_cart_order","reordered"
      100,11,1,1
      100,10,2,0
      101,12,1,0
      200,11,1,1
      999,12,1,0

      """)
    let shop = try Instacart.ingest(directory: dir)
    #expect(shop.items.count == 3 && shop.items[1].categoryPath == ["produce", "fresh fruits"])
    let report = Dictionary(uniqueKeysWithValues: shop.report.map { ($0.rule, $0.rows) })
    #expect(report["lines of orders not in orders.csv"] == 1 && report["reordered lines"] == 2 && report["purchase events"] == 4)
    let user5 = shop.events.filter { $0.userID == "5" }
    // Order 101 (number 2) comes first; order 100 follows 7 days later, its lines one second apart in cart order.
    #expect(user5.map(\.itemID) == ["12", "11", "10"])
    #expect(user5[1].timestampMs - user5[0].timestampMs == 7 * 86_400_000 - 3_600_000)
    #expect(user5[2].timestampMs - user5[1].timestampMs == 1_000)
    #expect(user5.allSatisfy { $0.kind == .purchase } && user5[1].sessionID == "o-100")
  }

  @Test func refusesABadCartPosition() throws {
    let dir = NSTemporaryDirectory() + "ic-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func put(_ name: String, _ text: String) throws { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
    try put("aisles.csv", "aisle_id,aisle\n")
    try put("departments.csv", "department_id,department\n")
    try put("products.csv", "product_id,product_name,aisle_id,department_id\n1,A,1,1\n")
    try put("orders.csv", "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order\n1,1,prior,1,0,01,\n")
    try put("order_products__prior.csv", "order_id,product_id,add_to_cart_order,reordered\n1,1,x,0\n")
    #expect(throws: FunnelError.self) { try Instacart.ingest(directory: dir) }
  }
}
