/// Field names of the indicator rollups: a metric (`orders.paid`, `amount.paid`, `events.click`,
/// `rec.impressions`), optionally with dimensions (`orders.paid|country=GB`,
/// `rec.clicks|scene=home|arm=ranker:b`). Dimension values come from clients and the catalog, so
/// they are cleaned (`|`, `=` and control characters replaced, 64 bytes at most) and their number
/// per bucket is capped by the stores (`other` past the cap).
public enum IndicatorField {
  /// The dimension value stores put in place of new values once a bucket holds its cap of fields.
  public static let other = "other"

  /// `metric|name=value|...` with each value cleaned.
  public static func name(_ metric: String, _ dimensions: [(String, String)]) -> String {
    var text = metric
    for (name, value) in dimensions {
      text += "|" + name + "=" + clean(value)
    }
    return text
  }

  /// `metric|name=value`.
  public static func name(_ metric: String, _ dimension: String, _ value: String) -> String {
    metric + "|" + dimension + "=" + clean(value)
  }

  /// Whether `field` has dimensions (is kept for `dimensionRetentionSeconds` only).
  public static func hasDimensions(_ field: String) -> Bool { field.utf8.contains(UInt8(ascii: "|")) }

  /// `field` with every dimension value replaced by `other` (where a capped bucket counts it).
  public static func overflow(_ field: String) -> String {
    let parts = field.split(separator: "|", omittingEmptySubsequences: false)
    guard parts.count > 1 else { return field }
    return ([String(parts[0])] + parts.dropFirst().map { part in
      let name = part.split(separator: "=", maxSplits: 1).first.map(String.init) ?? String(part)
      return name + "=" + other
    }).joined(separator: "|")
  }

  /// The metric and dimensions of `field`.
  public static func parse(_ field: String) -> (metric: String, dimensions: [(String, String)]) {
    let parts = field.split(separator: "|", omittingEmptySubsequences: false)
    let dims: [(String, String)] = parts.dropFirst().map { part in
      let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      return (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
    }
    return (String(parts.first ?? ""), dims)
  }

  /// `value` with `|`, `=` and control characters replaced by `_`, cut to 64 bytes on a character
  /// boundary; empty becomes `unknown`.
  public static func clean(_ value: String) -> String {
    guard !value.isEmpty else { return "unknown" }
    var out = ""
    var bytes = 0
    for character in value {
      let piece: String = (character == "|" || character == "=" || character.unicodeScalars.contains {
        $0.properties.generalCategory == .control }) ? "_" : String(character)
      bytes += piece.utf8.count
      if bytes > 64 { break }
      out += piece
    }
    return out.isEmpty ? "unknown" : out
  }
}
