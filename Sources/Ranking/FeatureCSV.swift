import Foundation

/// A batch of feature rows read from CSV for a model: a header row of feature names, one row per
/// candidate, empty cell = missing. Columns are matched to the model's schema by name (columns the
/// model does not use are ignored; features the file lacks are missing; a header with none of the
/// model's features is an error).
public struct FeatureCSV: Sendable {
  /// Rows in the model's column order, double precision, NaN = missing.
  public let rows: [[Double]]
  /// Schema features not present in the file.
  public let absentFeatures: [String]

  /// Reads `path` for `schema`. Throws `RankingError` naming the file, line and column of a bad cell.
  public init(path: String, schema: FeatureSchema) throws {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw RankingError("\(path): cannot read (\(error.localizedDescription))")
    }
    var lines = text.split(whereSeparator: \.isNewline).makeIterator()
    guard let header = lines.next() else { throw RankingError("\(path): empty file, expected a header row") }
    let names = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let position = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
    let sources = schema.names.map { position[$0] }
    absentFeatures = zip(schema.names, sources).filter { $0.1 == nil }.map(\.0)
    // Scores of rows with every feature missing would all be the model's constant: garbage, not a result.
    guard schema.names.isEmpty || absentFeatures.count < schema.names.count else {
      throw RankingError("\(path): no column of the header is a feature of the model (it has "
        + "\(schema.names.prefix(5).joined(separator: ", "))\(schema.names.count > 5 ? ", ..." : "")); header: "
        + "\(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", ..." : "")")
    }
    var rows: [[Double]] = []
    var lineNumber = 1
    while let line = lines.next() {
      lineNumber += 1
      let cells = line.split(separator: ",", omittingEmptySubsequences: false)
      guard cells.count == names.count else {
        throw RankingError("\(path):\(lineNumber): \(cells.count) cells, the header has \(names.count)")
      }
      rows.append(try sources.map { source in
        guard let source else { return .nan }
        let cell = cells[source].trimmingCharacters(in: .whitespaces)
        if cell.isEmpty { return .nan }
        guard let value = Double(cell) else {
          throw RankingError("\(path):\(lineNumber): column '\(names[source])' holds '\(cell)', not a number")
        }
        return value
      })
    }
    self.rows = rows
  }

  /// The rows as a `FeatureMatrix` (single precision, as the serving path scores).
  public var matrix: FeatureMatrix {
    var m = FeatureMatrix(columns: rows.first?.count ?? 0, capacity: rows.count)
    m.reset(rows: rows.count)
    for (r, row) in rows.enumerated() { for (c, v) in row.enumerated() { m[r, c] = Float(v) } }
    return m
  }
}
