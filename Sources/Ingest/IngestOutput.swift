import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat

/// Writes an ingested data set as the files the rest of Funnel reads, under one directory:
///
/// | path | what |
/// | --- | --- |
/// | `catalog.jsonl` | the catalog (recall issue schema) |
/// | `events.jsonl` | every event, all dates (evaluation splits them itself) |
/// | `items.jsonl`, `users.jsonl` | offline features as of `asOfMs` (`OfflineFeatures`), for `funnel features load` |
/// | `index/` | an index generation built from the events before `asOfMs`, with `history.jsonl` (those events) and `replay.json` (`ReplaySettings`) |
/// | `report.json` | the cleaning report |
public enum IngestOutput {
  /// Writes `shop` under `directory` (created if needed); the index and features use only events
  /// before `asOfMs` (nil: all events, as of one millisecond after the last). Returns the new
  /// generation's path. Throws `FunnelError` naming the file that could not be written.
  @discardableResult
  public static func write(_ shop: IngestedShop, to directory: String, asOfMs: Int64?) throws -> String {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw FunnelError(.failedPrecondition, "cannot create \(directory): \(error.localizedDescription)")
    }
    let cutoff = asOfMs ?? (shop.events.last.map { $0.timestampMs + 1 } ?? 0)
    let history = shop.events.filter { $0.timestampMs < cutoff }
    try JSONLines.writeCatalog(shop.items, to: directory + "/catalog.jsonl")
    try JSONLines.writeEvents(shop.events, to: directory + "/events.jsonl")
    let features = OfflineFeatures(items: shop.items, history: history, asOfMs: cutoff, userFacts: shop.userFacts)
    try writeLines(features.itemRows, to: directory + "/items.jsonl")
    try writeLines(features.userRows, to: directory + "/users.jsonl")
    let report = Dictionary(uniqueKeysWithValues: shop.report.map { ($0.rule, $0.rows) })
      .merging(["events before the cut-off": history.count]) { a, _ in a }
    try writeJSON(report, to: directory + "/report.json")

    var accumulator = GenerationAccumulator(nowMs: cutoff)
    for item in shop.items { try accumulator.add(item) }
    for event in history { accumulator.add(event) }
    var writer = try GenerationDirectoryWriter(root: directory + "/index", version: GenerationDirectory.newName(nowMs: cutoff))
    let manifest = try accumulator.finish(version: writer.version, into: &writer)
    let path = try writer.commit(manifest)
    // What customers had done by the cut-off, for `funnel serve --index DIR/index` (ReplaySettings).
    let replay = ReplaySettings(asOfMs: cutoff)
    try JSONLines.writeEvents(history, to: directory + "/index/" + replay.history)
    try replay.write(indexDirectory: directory + "/index")
    return path
  }

  static func writeLines(_ rows: [[String: Any]], to path: String) throws {
    var data = Data()
    for row in rows {
      data += try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
      data.append(0x0A)
    }
    do { try data.write(to: URL(fileURLWithPath: path)) } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(path): \(error.localizedDescription)")
    }
  }

  static func writeJSON(_ object: [String: Int], to path: String) throws {
    do {
      try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        .write(to: URL(fileURLWithPath: path))
    } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(path): \(error.localizedDescription)")
    }
  }
}

/// Offline item and user features from a purchase history, as of a time (recency/frequency/monetary,
/// repeat-purchase rates, preferred category and price band): the rows `funnel features load` puts
/// in MongoDB and the ranking model reads as `item.NAME` / `user.NAME`.
public struct OfflineFeatures {
  /// One object per item with at least one purchase: `id` and numbers.
  public let itemRows: [[String: Any]]
  /// One object per user: `id`, numbers, and text facts.
  public let userRows: [[String: Any]]

  /// Features of `history` (events before `asOfMs`) for `items`.
  public init(items: [CatalogItem], history: [BehaviourEvent], asOfMs: Int64, userFacts: [UserID: [String: String]]) {
    let purchases = history.filter { $0.kind == .purchase }
    let category = Dictionary(items.map { ($0.id, $0.category) }, uniquingKeysWith: { a, _ in a })
    let day = 86_400_000.0
    var itemRows: [[String: Any]] = []
    for (item, lines) in Dictionary(grouping: purchases, by: \.itemID).sorted(by: { $0.key < $1.key }) {
      let invoicesPerCustomer = Dictionary(grouping: lines, by: \.userID).mapValues { Set($0.map(\.sessionID)).count }
      let units = lines.reduce(0) { $0 + Int($1.quantity) }
      itemRows.append([
        "id": item, "units": units, "lines": lines.count, "customers": invoicesPerCustomer.count,
        "repeat_rate": Double(invoicesPerCustomer.values.filter { $0 > 1 }.count) / Double(invoicesPerCustomer.count),
        "days_since_last_sale": Double(asOfMs - lines.map(\.timestampMs).max()!) / day,
        "days_since_first_sale": Double(asOfMs - lines.map(\.timestampMs).min()!) / day,
        "revenue": lines.reduce(0) { $0 + Double($1.quantity) * $1.price },
      ])
    }
    var userRows: [[String: Any]] = []
    for (user, lines) in Dictionary(grouping: purchases, by: \.userID).sorted(by: { $0.key < $1.key }) {
      let categories = Dictionary(grouping: lines.compactMap { category[$0.itemID] }, by: { $0 }).mapValues(\.count)
      let spend = lines.reduce(0) { $0 + Double($1.quantity) * $1.price }
      var row: [String: Any] = [
        "id": user, "recency_days": Double(asOfMs - lines.map(\.timestampMs).max()!) / day,
        "tenure_days": Double(asOfMs - lines.map(\.timestampMs).min()!) / day,
        "frequency": Set(lines.map(\.sessionID)).count, "monetary": spend,
        "distinct_items": Set(lines.map(\.itemID)).count,
        "mean_unit_price": lines.reduce(0) { $0 + $1.price } / Double(lines.count),
        "preferred_category": categories.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? "",
      ]
      for (key, value) in userFacts[user] ?? [:] { row[key] = value }
      userRows.append(row)
    }
    self.itemRows = itemRows
    self.userRows = userRows
  }
}
