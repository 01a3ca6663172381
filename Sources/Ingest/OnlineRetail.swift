import Foundation
import FunnelCore

/// A cleaned data set: the catalog and the behaviour events of the recall issue's schema, and what
/// cleaning did, line by line.
public struct IngestedShop: Sendable {
  /// The catalog, in first-appearance order.
  public var items: [CatalogItem]
  /// Events in time order.
  public var events: [BehaviourEvent]
  /// Rows read and what happened to them (name -> count), in the order the rules apply.
  public var report: [(rule: String, rows: Int)]
  /// Text facts about users (e.g. `country`), for their offline profile.
  public var userFacts: [UserID: [String: String]] = [:]
}

/// The UCI Online Retail log (and Online Retail II, same columns under other names) cleaned into a
/// catalog and purchase events. Rules, applied in this order, each counted in the report:
/// 1. exact duplicate rows: dropped (the log repeats some lines verbatim);
/// 2. cancellations (invoice `C…`) and bad-debt adjustments (`A…`): dropped, not netted against the
///    order they cancel (most cancel orders before the log starts);
/// 3. non-product stock codes (postage `POST`/`DOT`, manual `M`, carriage, discounts, samples, bank and
///    Amazon fees, gift vouchers, …): a product code is five digits with an optional letter suffix;
/// 4. quantity <= 0 or unit price <= 0 (stock adjustments, free samples): dropped;
/// 5. missing customer: kept for the catalog (description, price) but not as events;
/// then one purchase event per remaining line. Items take their most frequent description (a code
/// has up to several spellings, and notes such as `damaged` on adjustment lines, which rules 2-4
/// mostly remove), their median unit price, and a category from the product noun
/// (`ProductNoun`). Stock codes are upper-cased (`85123a` and `85123A` are one product).
public enum OnlineRetail {
  /// Reads and cleans the CSV at `path` (plain or `.gz`). Throws naming the file and line for a
  /// malformed row (wrong field count, bad number or date).
  public static func ingest(path: String) throws -> IngestedShop {
    var csv = try CSVReader(path: path)
    let invoiceColumn = try csv.column("InvoiceNo", "Invoice"), codeColumn = try csv.column("StockCode")
    let descriptionColumn = try csv.column("Description"), quantityColumn = try csv.column("Quantity")
    let dateColumn = try csv.column("InvoiceDate"), priceColumn = try csv.column("UnitPrice", "Price")
    let customerColumn = try csv.column("CustomerID", "Customer ID"), countryColumn = try csv.column("Country")
    var counts: [String: Int] = [:]
    var seen = Set<[String]>()
    var descriptions: [String: [String: Int]] = [:]
    var prices: [String: [Double]] = [:]
    var order: [String] = []
    var events: [BehaviourEvent] = []
    var userFacts: [UserID: [String: String]] = [:]
    while true {
      let line = csv.line
      guard let row = try csv.nextRecord() else { break }
      counts["rows read", default: 0] += 1
      guard row.count == csv.header.count else {
        throw FunnelError(.invalidArgument, "\(path):\(line): \(row.count) fields, the header has \(csv.header.count)")
      }
      guard seen.insert(row).inserted else { counts["exact duplicate rows", default: 0] += 1; continue }
      let invoice = row[invoiceColumn]
      if invoice.hasPrefix("C") || invoice.hasPrefix("A") {
        counts["cancellations and adjustments", default: 0] += 1
        continue
      }
      let code = row[codeColumn].trimmingCharacters(in: .whitespaces).uppercased()
      guard isProductCode(code) else { counts["non-product stock codes", default: 0] += 1; continue }
      guard let quantity = Double(row[quantityColumn]), let price = Double(row[priceColumn]) else {
        throw FunnelError(.invalidArgument, "\(path):\(line): Quantity '\(row[quantityColumn])' or price '\(row[priceColumn])' is not a number")
      }
      guard quantity > 0, price > 0 else { counts["quantity or price <= 0", default: 0] += 1; continue }
      guard let timestamp = parseDate(row[dateColumn]) else {
        throw FunnelError(.invalidArgument, "\(path):\(line): InvoiceDate '\(row[dateColumn])' is not YYYY-MM-DD HH:MM[:SS]")
      }
      if prices[code] == nil { order.append(code) }
      prices[code, default: []].append(price)
      let description = row[descriptionColumn].split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
      if !description.isEmpty { descriptions[code, default: [:]][description, default: 0] += 1 }
      // Customer ids come as `17850` or, from some exports, `17850.0`.
      var customer = row[customerColumn].trimmingCharacters(in: .whitespaces)
      if customer.hasSuffix(".0") { customer.removeLast(2) }
      guard !customer.isEmpty else { counts["missing customer (catalog only)", default: 0] += 1; continue }
      counts["purchase events", default: 0] += 1
      events.append(BehaviourEvent(
        eventID: "\(invoice)-\(line)", userID: customer, sessionID: invoice, itemID: code, kind: .purchase,
        timestampMs: timestamp, quantity: UInt32(min(quantity, 1_000_000)), price: price))
      userFacts[customer] = ["country": row[countryColumn]]
    }
    let items = order.map { code -> CatalogItem in
      let variants = descriptions[code] ?? [:]
      // The most frequent spelling; ties go to the alphabetically first, so ingest is deterministic.
      let title = variants.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? code
      let sorted = prices[code]!.sorted()
      return CatalogItem(id: code, title: title, categoryPath: [ProductNoun.category(of: title)], brand: "",
                         price: sorted[sorted.count / 2], tags: ProductNoun.colours(in: title), inStock: true)
    }
    events.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
    let rules = ["rows read", "exact duplicate rows", "cancellations and adjustments", "non-product stock codes",
                 "quantity or price <= 0", "missing customer (catalog only)", "purchase events"]
    var report = rules.map { ($0, counts[$0] ?? 0) }
    report.append(("items", items.count))
    report.append(("customers", Set(events.map(\.userID)).count))
    report.append(("items with several descriptions", descriptions.values.filter { $0.count > 1 }.count))
    return IngestedShop(items: items, events: events, report: report, userFacts: userFacts)
  }

  /// Five digits and an optional letter suffix (`85123A`, `15056BL`).
  static func isProductCode(_ code: String) -> Bool {
    let bytes = Array(code.utf8)
    guard bytes.count >= 5, bytes.count <= 8, bytes.prefix(5).allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
    return bytes.dropFirst(5).allSatisfy { (0x41...0x5A).contains($0) }
  }

  /// `YYYY-MM-DD HH:MM[:SS]` (or with `T`, or `M/D/YYYY H:MM` as some exports write) as Unix ms,
  /// read as UTC (the log gives no zone; the shop is in the UK).
  static func parseDate(_ text: String) -> Int64? {
    let parts = text.split(whereSeparator: { " T-:/".contains($0) }).compactMap { Int($0) }
    guard parts.count >= 5 else { return nil }
    let isoOrder = text.count >= 10 && text[text.index(text.startIndex, offsetBy: 4)] == "-"
    let (year, month, day) = isoOrder ? (parts[0], parts[1], parts[2]) : (parts[2], parts[0], parts[1])
    let (hour, minute, second) = (parts[3], parts[4], parts.count > 5 ? parts[5] : 0)
    guard (1...12).contains(month), (1...31).contains(day), (0..<24).contains(hour), (0..<60).contains(minute),
          (0..<61).contains(second), (1970...2100).contains(year) else { return nil }
    return (daysFromCivil(year, month, day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1000
  }

  /// Unix ms of 00:00 UTC on a date.
  public static func dayStartMs(year: Int, month: Int, day: Int) -> Int64 { daysFromCivil(year, month, day) * 86_400_000 }

  /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
  static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int64 {
    let y = m <= 2 ? y - 1 : y
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return Int64(era * 146_097 + doe - 719_468)
  }
}
