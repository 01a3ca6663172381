import Foundation

/// The analysis chain of a generation's text, the same at index and at query time: tokens
/// (`Tokenizer`: letters and digits, lower-cased), folded (diacritics removed: `café` -> `cafe`),
/// stop words dropped, then stemmed with the language's Snowball stemmer (`mugs` -> `mug`,
/// `ceramics` -> `ceram`). A generation records its analyzer's `name` in its manifest, and queries
/// are analysed with the generation's own, so both sides always agree; generations without one
/// (`plain`) keep the tokens as they are. Thread-safe; O(length) per text.
public struct TextAnalyzer: Sendable {
  /// `plain`, or the stemmer's language (`english`, ...).
  public let name: String
  let stemmer: Stemmer?
  let stopWords: Set<String>

  /// Tokens only, no folding, stop words or stemming (what generations before analysis used).
  public static let plain = TextAnalyzer(name: "plain", stemmer: nil, stopWords: [])

  /// English: Snowball's `english` (Porter2) stemmer and Lucene's English stop words.
  public static let english = try! TextAnalyzer(named: "english")

  private init(name: String, stemmer: Stemmer?, stopWords: Set<String>) {
    self.name = name
    self.stemmer = stemmer
    self.stopWords = stopWords
  }

  /// The analyzer called `name`: `plain`, or a language libstemmer knows (with that language's stop
  /// words when the project has a list for it, none otherwise). Throws `TextAnalysisError` naming
  /// the known languages for anything else.
  public init(named name: String) throws {
    if name == "plain" {
      self = .plain
      return
    }
    guard let stemmer = Stemmer(language: name) else {
      throw TextAnalysisError("unknown text analysis '\(name)': plain, or one of libstemmer's languages "
                              + "(\(Stemmer.languages.joined(separator: ", ")))")
    }
    self.init(name: name, stemmer: stemmer, stopWords: StopWords.list(for: name))
  }

  /// The terms of `text`.
  public func terms(_ text: String) -> [String] { analyze(tokens: Tokenizer.tokens(text)) }

  /// The terms of `tokens` (the tokenizer's output, e.g. a validated query's). A query made of stop
  /// words only keeps them (stemmed), so "the who" still searches for something.
  public func analyze(tokens: [String]) -> [String] {
    guard let stemmer else { return tokens }
    return kept(tokens).map { stemmer.stem($0) }
  }

  /// The term of one token (folded and stemmed), or nil when it is a stop word. `analyze(tokens:)`
  /// is this over each token, except that a text of stop words only keeps them; a bulk indexer
  /// memoises it per distinct token (`TextIndex.Writer`), since stemming costs far more than a lookup.
  public func term(token: String) -> String? {
    guard let stemmer else { return token }
    return word(token: token).map { stemmer.stem($0) }
  }

  /// Like `analyze(tokens:)`, with each term's folded, unstemmed form beside it (for spelling
  /// correction, which matches what was typed).
  public func analyzePairs(tokens: [String]) -> [(surface: String, term: String)] {
    guard let stemmer else { return tokens.map { ($0, $0) } }
    return kept(tokens).map { ($0, stemmer.stem($0)) }
  }

  /// The folded `tokens` that are not stop words, or all of them folded when every one is.
  private func kept(_ tokens: [String]) -> [String] {
    let words = tokens.compactMap(word(token:))
    return words.isEmpty ? tokens.map(Self.fold) : words
  }

  /// The words of `text` as a shopper would type them: folded, unstemmed, stop words left out
  /// (search suggestions show these).
  public func words(_ text: String) -> [String] {
    Tokenizer.tokens(text).compactMap(word(token:))
  }

  /// The word of one token as `words` gives it (folded), or nil when it is a stop word.
  public func word(token: String) -> String? {
    let folded = Self.fold(token)
    return stopWords.contains(folded) ? nil : folded
  }

  /// `token` without diacritics (`é` -> `e`, `ß` stays); ASCII is returned as it is.
  static func fold(_ token: String) -> String {
    guard !token.utf8.allSatisfy({ $0 < 0x80 }) else { return token }
    return token.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
  }
}

extension TextAnalyzer: Hashable {
  /// Analyzers are equal when they have the same name (the name determines the chain).
  public static func == (a: TextAnalyzer, b: TextAnalyzer) -> Bool { a.name == b.name }
  public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// A text-analysis setting that cannot be honoured (an unknown language).
public struct TextAnalysisError: Error, CustomStringConvertible {
  /// What is wrong.
  public let message: String
  init(_ message: String) { self.message = message }
  public var description: String { message }
}
