import Foundation
import FunnelCore

/// The Instacart 2017 sample (`orders.csv`, `order_products__prior.csv`, `products.csv`,
/// `aisles.csv`, `departments.csv` in one directory) as a catalog and purchase events:
/// - items are products: the name as title, department / aisle as the category path; no prices;
/// - every basket line is a `purchase` in the order's session (`o-ORDER`). The set has no dates,
///   only each order's place in its user's sequence (`order_number`, `days_since_prior_order`,
///   hour of day), so each user's orders are laid on a timeline ending on 2017-06-01 (their last
///   order in the sample) by the days between them, and a basket's lines one second apart in
///   add-to-cart order: the order of events within a user is the real one, the alignment between
///   users is not;
/// - `reordered` (the user had bought the product before, in orders outside the sample) is counted
///   in the report; it is not a feature (it is known only for what was bought);
/// - basket lines of orders missing from `orders.csv` are dropped and counted (they have no user).
/// Most users have one basket in the sample, so the natural evaluation is basket completion: the
/// first part of each basket is the cart, the rest the truth (`funnel eval --holdout 0.5 --scene cart`).
public enum Instacart {
  /// Reads the set in `directory`. Throws naming the file and line of a malformed row.
  public static func ingest(directory: String) throws -> IngestedShop {
    func names(_ file: String, _ key: String, _ value: String) throws -> [String: String] {
      var reader = try CSVReader(path: directory + "/" + file)
      let (k, v) = (try reader.column(key), try reader.column(value))
      var names: [String: String] = [:]
      while let row = try reader.nextRecord() { if row.count == reader.header.count { names[row[k]] = row[v] } }
      return names
    }
    let aisles = try names("aisles.csv", "aisle_id", "aisle")
    let departments = try names("departments.csv", "department_id", "department")
    var products = try CSVReader(path: directory + "/products.csv")
    let (idColumn, nameColumn) = (try products.column("product_id"), try products.column("product_name"))
    let (aisleColumn, departmentColumn) = (try products.column("aisle_id"), try products.column("department_id"))
    var items: [CatalogItem] = []
    while true {
      let line = products.line
      guard let row = try products.nextRecord() else { break }
      guard row.count == products.header.count, !row[idColumn].isEmpty else {
        throw FunnelError(.invalidArgument, "\(products.path):\(line): \(row.count) fields, the header has \(products.header.count)")
      }
      let path = [departments[row[departmentColumn]] ?? "missing", aisles[row[aisleColumn]] ?? "missing"]
      items.append(CatalogItem(id: row[idColumn], title: row[nameColumn], categoryPath: path, brand: "", price: 0, tags: [],
                               inStock: true))
    }
    let known = Set(items.map(\.id))

    struct Order { var user: String; var number: Int; var hour: Int; var days: Int }
    var orders: [String: Order] = [:]
    var reader = try CSVReader(path: directory + "/orders.csv")
    let (orderColumn, userColumn, numberColumn) = (try reader.column("order_id"), try reader.column("user_id"), try reader.column("order_number"))
    let (hourColumn, daysColumn) = (try reader.column("order_hour_of_day"), try reader.column("days_since_prior_order"))
    while true {
      let line = reader.line
      guard let row = try reader.nextRecord() else { break }
      guard row.count == reader.header.count, let number = Int(row[numberColumn]), (1...1_000).contains(number) else {
        throw FunnelError(.invalidArgument, "\(reader.path):\(line): order_number is not a number in 1...1000")
      }
      let hour = Int(row[hourColumn]).flatMap { (0...23).contains($0) ? $0 : nil } ?? 12
      let days = Int(Double(row[daysColumn]) ?? 0)
      orders[row[orderColumn]] = Order(user: row[userColumn], number: number, hour: hour, days: max(0, min(days, 365)))
    }
    // Each user's timeline ends on one day (the sample holds users' latest orders): an order's day
    // is minus the days from it to the user's last order, so popularity decayed to the end of the
    // set weighs every user's basket alike.
    var dayOf: [String: Int] = [:]
    for (_, own) in Dictionary(grouping: orders, by: { $0.value.user }) {
      let sorted = own.sorted(by: { $0.value.number > $1.value.number })
      var day = 0
      for (i, (id, order)) in sorted.enumerated() {
        dayOf[id] = day
        if i + 1 < sorted.count { day -= order.days }
      }
    }
    let startMs = OnlineRetail.dayStartMs(year: 2017, month: 6, day: 1)

    var lines = try CSVReader(path: directory + "/order_products__prior.csv")
    let (lineOrder, lineProduct) = (try lines.column("order_id"), try lines.column("product_id"))
    let (cartColumn, reorderedColumn) = (try lines.column("add_to_cart_order"), try lines.column("reordered"))
    var events: [BehaviourEvent] = []
    var counts = ["basket lines read": 0, "lines of orders not in orders.csv": 0, "lines of unknown products": 0, "reordered lines": 0]
    while true {
      let line = lines.line
      guard let row = try lines.nextRecord() else { break }
      counts["basket lines read", default: 0] += 1
      guard row.count == lines.header.count, let position = Int(row[cartColumn]), (1...10_000).contains(position) else {
        throw FunnelError(.invalidArgument, "\(lines.path):\(line): add_to_cart_order is not a number in 1...10000")
      }
      guard let order = orders[row[lineOrder]], let day = dayOf[row[lineOrder]] else {
        counts["lines of orders not in orders.csv", default: 0] += 1
        continue
      }
      guard known.contains(row[lineProduct]) else { counts["lines of unknown products", default: 0] += 1; continue }
      if row[reorderedColumn] == "1" { counts["reordered lines", default: 0] += 1 }
      let ms = startMs + Int64(day) * 86_400_000 + Int64(order.hour) * 3_600_000 + Int64(position) * 1_000
      events.append(BehaviourEvent(eventID: "o-\(row[lineOrder])-\(row[lineProduct])", userID: order.user,
                                   sessionID: "o-\(row[lineOrder])", itemID: row[lineProduct], kind: .purchase, timestampMs: ms))
    }
    events.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
    var report = ["basket lines read", "lines of orders not in orders.csv", "lines of unknown products", "reordered lines"]
      .map { ($0, counts[$0] ?? 0) }
    report.append(("purchase events", events.count))
    report.append(("items", items.count))
    report.append(("users", Set(events.map(\.userID)).count))
    return IngestedShop(items: items, events: events, report: report)
  }
}
