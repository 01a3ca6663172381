/// Categories for catalogs that have none, from the product name: gift-ware names put the product
/// noun last and modifiers (colours, themes, sizes, pack words) after it or around it, e.g.
/// `JUMBO BAG RED RETROSPOT` -> `bag`, `PACK OF 72 RETROSPOT CAKE CASES` -> `case`,
/// `WHITE HANGING HEART T-LIGHT HOLDER` -> `holder`. The last word that is not a modifier, number or
/// size, in the singular. A heuristic: good enough to group a shop's aisles for recall and features.
///
/// Pure functions; thread-safe.
public enum ProductNoun {
  /// Colours, as tags.
  static let colourWords: Set<String> = [
    "RED", "PINK", "BLUE", "WHITE", "BLACK", "GREEN", "IVORY", "CREAM", "GOLD", "SILVER", "PURPLE", "ORANGE",
    "YELLOW", "BROWN", "GREY", "NATURAL", "TURQUOISE", "LILAC", "BLOSSOM",
  ]
  /// Words that qualify a product rather than name it: themes, patterns, sizes, pack words.
  static let modifierWords: Set<String> = colourWords.union([
    "DESIGN", "DESIGNS", "SET", "SETS", "PACK", "OF", "SMALL", "LARGE", "MEDIUM", "MINI", "JUMBO", "ASSORTED",
    "VINTAGE", "RETROSPOT", "POLKADOT", "SPOT", "SPOTS", "PANTRY", "REGENCY", "SPACEBOY", "PAISLEY", "SKULLS",
    "SKULL", "CHARLOTTE", "DOLLY", "GIRL", "BOY", "LOVE", "IN", "WITH", "AND", "THE", "A", "TO", "FOR", "ON",
    "COLOUR", "COLOURS", "COLOURED", "STRIPE", "STRIPES", "FLORAL", "ENGLISH", "FRENCH", "RETRO", "TRADITIONAL",
    "CHRISTMAS", "EASTER", "WOODLAND", "TEA", "PARTY", "BIRTHDAY", "HEARTS", "STARS", "GLASS", "METAL", "WOODEN",
    "CERAMIC", "ENAMEL", "ZINC", "FELT", "PAPER", "S", "XL", "CM", "M", "L",
  ])

  /// Upper-case ASCII words of `name` (digits and punctuation separate words and are dropped).
  static func words(_ name: String) -> [String] {
    name.uppercased().split(whereSeparator: { !($0.isASCII && $0.isLetter) }).map(String.init)
  }

  /// The category (lower-case product noun, singular) of a product name; `other` when none is found.
  public static func category(of name: String) -> String {
    let all = words(name)
    guard let noun = all.last(where: { !modifierWords.contains($0) && $0.count > 1 }) ?? all.last else { return "other" }
    return singular(noun).lowercased()
  }

  /// The colour words of `name`, lower-cased, in order, without repeats.
  public static func colours(in name: String) -> [String] {
    var seen = Set<String>()
    return words(name).filter { colourWords.contains($0) && seen.insert($0).inserted }.map { $0.lowercased() }
  }

  /// A plain English singular: `BOXES` -> `BOX`, `CANDIES` -> `CANDY`, `CASES` -> `CASE`, `GLASS` stays.
  static func singular(_ word: String) -> String {
    guard word.count > 3, word.hasSuffix("S"), !word.hasSuffix("SS"), !word.hasSuffix("US") else { return word }
    if word.hasSuffix("IES") { return String(word.dropLast(3)) + "Y" }
    if word.hasSuffix("XES") || word.hasSuffix("CHES") || word.hasSuffix("SHES") { return String(word.dropLast(2)) }
    return String(word.dropLast())
  }
}
