/// The value of one free-form catalog attribute (`attrs` in the catalog: `{"color": "red", "weight_kg": 1.2}`).
public enum AttributeValue: Hashable, Sendable {
  case text(String)
  case number(Double)

  /// The keyword a filter term matches: lower-cased text, or the number in canonical form.
  public var keyword: String {
    switch self {
    case .text(let s): s.lowercased()
    case .number(let x): Self.canonical(x)
    }
  }

  /// The number, when the value is numeric.
  public var number: Double? {
    if case .number(let x) = self { return x }
    return nil
  }

  /// One spelling per number, so `42`, `42.0` and `4.2e1` are the same keyword: integers without a
  /// fraction, others in Swift's shortest round-tripping form.
  public static func canonical(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return String(x)
  }

  /// Whether `name` can name an attribute: 1-64 characters of `a-z`, `0-9` and `_` (so that
  /// `attr.NAME` reads unambiguously in filter expressions).
  public static func isValidName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 64
      && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
  }
}
