import Foundation
import FunnelCore

/// The MovieLens "latest small" set (`movies.csv`, `ratings.csv[.gz]`, `tags.csv` in one directory)
/// as a catalog and events, to show the engine on a second domain:
/// - items are movies: title, the first genre as category, every genre and the five most used user
///   tags as tags, the release year (from the title) as attribute `year`; price 0;
/// - a rating of 4 or more is a positive (`purchase`: what evaluation and repeat/ItemCF count), a
///   lower rating a `view` (the user saw it; interest, not approval);
/// - ratings of movies missing from `movies.csv` are dropped and counted.
public enum MovieLens {
  /// Reads the set in `directory`. Throws naming the file and line for a malformed row.
  public static func ingest(directory: String) throws -> IngestedShop {
    func file(_ name: String) -> String {
      FileManager.default.fileExists(atPath: directory + "/" + name) ? directory + "/" + name : directory + "/" + name + ".gz"
    }
    var tagCounts: [String: [String: Int]] = [:]
    var tags = try CSVReader(path: file("tags.csv"))
    let (tagMovie, tagText) = (try tags.column("movieId"), try tags.column("tag"))
    while let row = try tags.nextRecord() {
      guard row.count == tags.header.count else { continue }
      let tag = row[tagText].trimmingCharacters(in: .whitespaces).lowercased()
      if !tag.isEmpty, tag.count <= 64 { tagCounts[row[tagMovie], default: [:]][tag, default: 0] += 1 }
    }

    var movies = try CSVReader(path: file("movies.csv"))
    let (idColumn, titleColumn, genreColumn) = (try movies.column("movieId"), try movies.column("title"), try movies.column("genres"))
    var items: [CatalogItem] = []
    while true {
      let line = movies.line
      guard let row = try movies.nextRecord() else { break }
      guard row.count == movies.header.count, !row[idColumn].isEmpty else {
        throw FunnelError(.invalidArgument, "\(movies.path):\(line): \(row.count) fields, the header has \(movies.header.count)")
      }
      let genres = row[genreColumn].split(separator: "|").map { $0.lowercased() }.filter { $0 != "(no genres listed)" }
      let userTags = (tagCounts[row[idColumn]] ?? [:]).sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        .prefix(5).map(\.key)
      var attributes: [String: AttributeValue] = [:]
      if let year = releaseYear(row[titleColumn]) { attributes["year"] = .number(Double(year)) }
      items.append(CatalogItem(id: row[idColumn], title: row[titleColumn], categoryPath: [genres.first ?? "other"],
                               brand: "", price: 0, tags: genres + userTags.filter { !genres.contains($0) }, inStock: true,
                               attributes: attributes))
    }
    let known = Set(items.map(\.id))

    var ratings = try CSVReader(path: file("ratings.csv"))
    let (user, movie) = (try ratings.column("userId"), try ratings.column("movieId"))
    let (ratingColumn, timeColumn) = (try ratings.column("rating"), try ratings.column("timestamp"))
    var events: [BehaviourEvent] = []
    var counts = ["rows read": 0, "unknown movies": 0, "positives (rating >= 4)": 0, "other ratings (views)": 0]
    while true {
      let line = ratings.line
      guard let row = try ratings.nextRecord() else { break }
      counts["rows read", default: 0] += 1
      guard row.count == ratings.header.count, let rating = Double(row[ratingColumn]), let seconds = Int64(row[timeColumn]) else {
        throw FunnelError(.invalidArgument, "\(ratings.path):\(line): rating or timestamp is not a number")
      }
      guard known.contains(row[movie]) else { counts["unknown movies", default: 0] += 1; continue }
      let positive = rating >= 4
      counts[positive ? "positives (rating >= 4)" : "other ratings (views)", default: 0] += 1
      events.append(BehaviourEvent(eventID: "r-\(row[user])-\(row[movie])", userID: row[user], itemID: row[movie],
                                   kind: positive ? .purchase : .view, timestampMs: seconds * 1000))
    }
    events.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
    var report = ["rows read", "unknown movies", "positives (rating >= 4)", "other ratings (views)"].map { ($0, counts[$0] ?? 0) }
    report.append(("items", items.count))
    report.append(("users", Set(events.map(\.userID)).count))
    return IngestedShop(items: items, events: events, report: report)
  }

  /// The year in a title's trailing `(1995)`, if any.
  static func releaseYear(_ title: String) -> Int? {
    let trimmed = title.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasSuffix(")"), let open = trimmed.lastIndex(of: "(") else { return nil }
    let inside = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
    guard inside.count == 4, let year = Int(inside), (1870...2100).contains(year) else { return nil }
    return year
  }
}
