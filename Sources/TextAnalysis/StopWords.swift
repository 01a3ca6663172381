/// Stop words per language: words so common in product text and queries that they say nothing
/// about which item is meant. English is Lucene's `EnglishAnalyzer` set; languages without a list
/// here keep every word.
public enum StopWords {
  /// Lucene's English stop set.
  public static let english: Set<String> = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
  ]

  /// The list for the stemmer language `language` (empty when there is none).
  public static func list(for language: String) -> Set<String> {
    language == "english" || language == "porter" ? english : []
  }
}
