import FunnelCore

/// Parses filter expressions. Errors are `FunnelError.invalidArgument` naming the `filter` field and
/// the byte offset of the problem. O(length); recursion depth bounded by `FilterExpression.maxDepth`.
public struct FilterParser {
  private enum Token: Equatable {
    case word(String), quoted(String), lparen, rparen, lbracket, rbracket, lbrace, rbrace, colon, minus
    case comparison(String), end
  }

  private var tokens: [(Token, Int)] = []
  private var position = 0
  private var depth = 0
  private let source: String

  /// Parses `text`; an empty or all-blank text is no filter (nil).
  public static func parse(_ text: String) throws -> FilterExpression? {
    guard text.utf8.count <= FilterExpression.maxBytes else {
      throw FunnelError.invalidArgument(field: "filter", "longer than \(FilterExpression.maxBytes) bytes")
    }
    var parser = FilterParser(source: text)
    try parser.tokenize()
    if parser.tokens.first?.0 == .end { return nil }
    let expression = try parser.parseOr()
    guard case .end = parser.peek.0 else { throw parser.error("unexpected \(parser.describe(parser.peek.0))") }
    return expression
  }

  private init(source: String) { self.source = source }

  private var peek: (Token, Int) { tokens[position] }

  private func error(_ message: String, at offset: Int? = nil) -> FunnelError {
    FunnelError.invalidArgument(field: "filter", "\(message) at offset \(offset ?? peek.1)")
  }

  private func describe(_ token: Token) -> String {
    switch token {
    case .word(let w): "'\(w)'"
    case .quoted(let q): "\"\(q)\""
    case .lparen: "'('"
    case .rparen: "')'"
    case .lbracket: "'['"
    case .rbracket: "']'"
    case .lbrace: "'{'"
    case .rbrace: "'}'"
    case .colon: "':'"
    case .minus: "'-'"
    case .comparison(let c): "'\(c)'"
    case .end: "end of expression"
    }
  }

  private mutating func tokenize() throws {
    let bytes = Array(source.utf8)
    var i = 0
    func isWordByte(_ b: UInt8) -> Bool {
      !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x28 || b == 0x29 || b == 0x5B || b == 0x5D
        || b == 0x3A || b == 0x22 || b == 0x3C || b == 0x3E || b == 0x3D || b == 0x7B || b == 0x7D)
    }
    while i < bytes.count {
      let b = bytes[i]
      switch b {
      case 0x20, 0x09, 0x0A, 0x0D: i += 1
      case 0x28: tokens.append((.lparen, i)); i += 1
      case 0x29: tokens.append((.rparen, i)); i += 1
      case 0x5B: tokens.append((.lbracket, i)); i += 1
      case 0x5D: tokens.append((.rbracket, i)); i += 1
      case 0x7B: tokens.append((.lbrace, i)); i += 1
      case 0x7D: tokens.append((.rbrace, i)); i += 1
      case 0x3A: tokens.append((.colon, i)); i += 1
      case 0x3C, 0x3E:
        let start = i
        i += 1
        if i < bytes.count, bytes[i] == 0x3D { i += 1 }
        tokens.append((.comparison(String(decoding: bytes[start..<i], as: UTF8.self)), start))
      case 0x3D: throw error("unexpected '='", at: i)
      case 0x22:
        let start = i
        i += 1
        var value: [UInt8] = []
        while i < bytes.count, bytes[i] != 0x22 {
          if bytes[i] == 0x5C, i + 1 < bytes.count { i += 1 }
          value.append(bytes[i])
          i += 1
        }
        guard i < bytes.count else { throw error("unterminated quoted string", at: start) }
        i += 1
        tokens.append((.quoted(String(decoding: value, as: UTF8.self)), start))
      case 0x2D where tokens.last.map({ if case .colon = $0.0 { false } else { true } }) ?? true:
        // '-' before a clause negates it; after ':' it starts a negative number or a value.
        tokens.append((.minus, i)); i += 1
      default:
        let start = i
        while i < bytes.count, isWordByte(bytes[i]) { i += 1 }
        tokens.append((.word(String(decoding: bytes[start..<i], as: UTF8.self)), start))
      }
    }
    tokens.append((.end, bytes.count))
  }

  private mutating func advance() -> (Token, Int) {
    let t = tokens[position]
    if position < tokens.count - 1 { position += 1 }
    return t
  }

  private mutating func parseOr() throws -> FilterExpression {
    var left = try parseAnd()
    while case .word("OR") = peek.0 {
      _ = advance()
      left = .or(left, try parseAnd())
    }
    return left
  }

  private mutating func parseAnd() throws -> FilterExpression {
    var left = try parseUnary()
    while true {
      switch peek.0 {
      case .word("AND"):
        _ = advance()
        left = .and(left, try parseUnary())
      case .word("OR"), .rparen, .end:
        return left
      default:
        left = .and(left, try parseUnary())
      }
    }
  }

  private mutating func parseUnary() throws -> FilterExpression {
    depth += 1
    defer { depth -= 1 }
    guard depth <= FilterExpression.maxDepth else { throw error("nested deeper than \(FilterExpression.maxDepth)") }
    switch peek.0 {
    case .word("NOT"), .minus:
      _ = advance()
      return .not(try parseUnary())
    case .lparen:
      let open = advance().1
      let inner = try parseOr()
      guard case .rparen = peek.0 else { throw error("missing ')' for '(' at offset \(open)") }
      _ = advance()
      return inner
    case .word(let name) where name != "AND" && name != "OR":
      return try parseClause()
    default:
      throw error("expected a clause such as category:mugs, found \(describe(peek.0))")
    }
  }

  private mutating func parseClause() throws -> FilterExpression {
    guard case .word(let name) = peek.0 else { throw error("expected a field name") }
    let fieldOffset = advance().1
    guard let field = FilterField(name: name) else {
      let known = (FilterField.fixed.map(\.name) + ["attr.NAME (a-z, 0-9, _)"]).joined(separator: ", ")
      throw error("unknown field '\(name)' (known: \(known))", at: fieldOffset)
    }
    guard case .colon = peek.0 else { throw error("expected ':' after field '\(name)'") }
    _ = advance()
    switch peek.0 {
    case .lbracket, .lbrace:
      let lowInclusive = advance().0 == .lbracket
      let low = try parseBound(field)
      guard case .word("TO") = peek.0 else { throw error("expected 'TO' in range") }
      _ = advance()
      let high = try parseBound(field)
      let highInclusive: Bool
      switch peek.0 {
      case .rbracket: highInclusive = true
      case .rbrace: highInclusive = false
      default: throw error("expected ']' or '}' to close the range")
      }
      _ = advance()
      if let low, let high, low > high { throw error("empty range: \(low) > \(high)", at: fieldOffset) }
      return .range(field: field, low: low, lowInclusive: lowInclusive, high: high, highInclusive: highInclusive)
    case .comparison(let op):
      _ = advance()
      guard let value = try parseBound(field) else { throw error("'*' cannot follow '\(op)'") }
      switch op {
      case ">": return .range(field: field, low: value, lowInclusive: false, high: nil, highInclusive: true)
      case ">=": return .range(field: field, low: value, lowInclusive: true, high: nil, highInclusive: true)
      case "<": return .range(field: field, low: nil, lowInclusive: true, high: value, highInclusive: false)
      default: return .range(field: field, low: nil, lowInclusive: true, high: value, highInclusive: true)
      }
    case .word(let value):
      _ = advance()
      return try makeTerm(field, value, at: fieldOffset)
    case .quoted(let value):
      _ = advance()
      return try makeTerm(field, value, at: fieldOffset)
    default:
      throw error("expected a value for field '\(name)', found \(describe(peek.0))")
    }
  }

  private func makeTerm(_ field: FilterField, _ value: String, at offset: Int) throws -> FilterExpression {
    if field.isNumeric {
      guard let number = Double(value), number.isFinite else { throw error("'\(value)' is not a number", at: offset) }
      return .range(field: field, low: number, lowInclusive: true, high: number, highInclusive: true)
    }
    if field == .inStock, value != "true", value != "false" {
      throw error("in_stock takes true or false, not '\(value)'", at: offset)
    }
    // A number names an attribute's numeric value in one spelling, as the index stores it.
    if case .attribute = field, let number = Double(value), number.isFinite {
      return .term(field: field, value: AttributeValue.canonical(number))
    }
    // Ids are case-sensitive; every other keyword matches case-insensitively.
    return .term(field: field, value: field == .id ? value : value.lowercased())
  }

  private mutating func parseBound(_ field: FilterField) throws -> Double? {
    guard field.acceptsRanges else { throw error("field '\(field.name)' is not numeric; ranges apply to price and attr.NAME") }
    guard case .word(let text) = peek.0 else { throw error("expected a number or '*'") }
    let offset = advance().1
    if text == "*" { return nil }
    guard let value = Double(text), value.isFinite else { throw error("'\(text)' is not a number", at: offset) }
    return value
  }
}
