/// Distinct strings numbered in order of first sight (an interner): how the build's writers number
/// terms, words and keys, so each string is kept once and later work is on small integers.
/// Not thread-safe.
struct StringNumbering: Sendable {
  /// The strings by number.
  private(set) var strings: [String] = []
  private var numbers: [String: Int] = [:]

  /// The number of `string`, and whether it was given now (on first sight). Amortised O(length).
  mutating func number(of string: String) -> (number: Int, isNew: Bool) {
    if let known = numbers[string] { return (known, false) }
    let n = strings.count
    numbers[string] = n
    strings.append(string)
    return (n, true)
  }

  /// The number `string` was given, or nil when it never was. O(length).
  func find(_ string: String) -> Int? { numbers[string] }
}
