import Foundation
import FunnelCore

/// An Amazon Review Data (2018) category (`ratings.csv[.gz]`: item, user, rating, timestamp, and
/// `meta.json[.gz]`: one product object per line) as a catalog and purchase events:
/// - items are products, de-duplicated on `asin`: the title when it is text (the scrape left an HTML
///   fragment in most), else the brand (the publisher); brand; the category list below the root as
///   the path; the `Format` detail as a tag; no prices (the scrape has none);
/// - products rated but missing from the metadata are added with their ASIN as title and counted;
/// - every rating is a `purchase` (a review follows a purchase); exact duplicate rows and repeated
///   (user, item) pairs keep their first rating, and are counted.
public enum Amazon {
  /// Reads `ratings.csv[.gz]` and `meta.json[.gz]` in `directory`. Throws naming the file and line
  /// of a malformed row.
  public static func ingest(directory: String) throws -> IngestedShop {
    func file(_ name: String) -> String {
      FileManager.default.fileExists(atPath: directory + "/" + name) ? directory + "/" + name : directory + "/" + name + ".gz"
    }
    var counts: [String: Int] = [:]
    var items: [CatalogItem] = []
    var known = Set<String>()
    let metaPath = file("meta.json")
    var lineNumber = 0
    for line in try CompressedFile.read(path: metaPath).split(separator: 0x0A) {
      lineNumber += 1
      counts["meta lines read", default: 0] += 1
      guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
        throw FunnelError(.invalidArgument, "\(metaPath):\(lineNumber): not a JSON object")
      }
      guard let asin = object["asin"] as? String, !asin.isEmpty else {
        throw FunnelError(.invalidArgument, "\(metaPath):\(lineNumber): no asin")
      }
      guard known.insert(asin).inserted else { counts["duplicate meta lines", default: 0] += 1; continue }
      let brand = unescape(object["brand"] as? String ?? "")
      let rawTitle = unescape(object["title"] as? String ?? "")
      let title = !rawTitle.isEmpty && !rawTitle.contains("<") ? rawTitle : brand.isEmpty ? asin : brand
      let category = (object["category"] as? [String] ?? []).map(unescape).filter { !$0.isEmpty }
      let path = category.count > 1 ? Array(category.dropFirst().prefix(3)) : ["other"]
      let details = object["details"] as? [String: Any] ?? [:]
      let format = ((details["Format:"] ?? details["Format"]) as? String ?? "").trimmingCharacters(in: .whitespaces).lowercased()
      items.append(CatalogItem(id: asin, title: title, categoryPath: path, brand: brand, price: 0, tags: format.isEmpty ? [] : [format],
                               inStock: true))
    }

    var ratings = try CSVReader(path: file("ratings.csv"))
    let (itemColumn, userColumn, timeColumn) = (try ratings.column("item"), try ratings.column("user"), try ratings.column("timestamp"))
    var events: [BehaviourEvent] = []
    var pairs = Set<String>()
    while true {
      let line = ratings.line
      guard let row = try ratings.nextRecord() else { break }
      counts["ratings read", default: 0] += 1
      guard row.count == ratings.header.count, let seconds = Int64(row[timeColumn]), seconds > 0, seconds < 4_102_444_800,
            !row[itemColumn].isEmpty, !row[userColumn].isEmpty else {
        throw FunnelError(.invalidArgument, "\(ratings.path):\(line): item, user and a Unix time in seconds are needed")
      }
      guard pairs.insert(row[userColumn] + "\u{1F}" + row[itemColumn]).inserted else {
        counts["repeated (user, item) ratings", default: 0] += 1
        continue
      }
      if known.insert(row[itemColumn]).inserted {
        counts["rated products without metadata", default: 0] += 1
        items.append(CatalogItem(id: row[itemColumn], title: row[itemColumn], categoryPath: ["other"], brand: "", price: 0))
      }
      events.append(BehaviourEvent(eventID: "a-\(row[userColumn])-\(row[itemColumn])", userID: row[userColumn], itemID: row[itemColumn],
                                   kind: .purchase, timestampMs: seconds * 1000))
    }
    events.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
    var report = ["meta lines read", "duplicate meta lines", "ratings read", "repeated (user, item) ratings", "rated products without metadata"]
      .map { ($0, counts[$0] ?? 0) }
    report.append(("purchase events", events.count))
    report.append(("items", items.count))
    report.append(("users", Set(events.map(\.userID)).count))
    return IngestedShop(items: items, events: events, report: report)
  }

  /// `text` trimmed, with the HTML entities the scrape left (`&amp;` and kin) decoded.
  static func unescape(_ text: String) -> String {
    var out = text
    for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
      out = out.replacingOccurrences(of: entity, with: character)
    }
    return out.trimmingCharacters(in: .whitespaces)
  }
}
