#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed JSON value, from `JSONValue.parse`: the catalog and event readers' own parser (and the
/// HTTP event route's), much faster than Foundation's `JSONSerialization` on Linux, which made a
/// 10M-item catalog read dominate the index build, and exact about booleans versus numbers.
public enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Parses one JSON document (RFC 8259) occupying all of `bytes` (surrounding white space allowed).
  /// Returns nil for anything that is not exactly one valid document: bad syntax, invalid UTF-8,
  /// lone surrogates, nesting deeper than 64. Duplicate object keys: the last one wins.
  /// O(length); never reads outside `bytes`.
  public static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
    var parser = Parser(bytes: bytes)
    guard let value = parser.value(depth: 0) else { return nil }
    parser.skipSpace()
    return parser.position == bytes.count ? value : nil
  }

  /// Parses one JSON object occupying all of `bytes` (as `parse` does, and with the same
  /// validation) but keeps only the members named in `fields`: `values[i]` becomes the value of
  /// `fields.names[i]` (the last one when a key repeats), nil when absent. Other members are
  /// validated and dropped. No dictionary and no key strings are made: the line readers of the
  /// index build call this millions of times. Returns false for anything `parse` would refuse and
  /// for a document that is not an object. `values` is reused (resized to the field count).
  /// O(length); never reads outside `bytes`.
  public static func parseObject(_ bytes: UnsafeRawBufferPointer, fields: JSONFields, into values: inout [JSONValue?]) -> Bool {
    if values.count != fields.names.count { values = [JSONValue?](repeating: nil, count: fields.names.count) }
    for i in values.indices { values[i] = nil }
    var parser = Parser(bytes: bytes)
    parser.skipSpace()
    guard parser.current == UInt8(ascii: "{") else { return false }
    parser.position += 1
    parser.skipSpace()
    if parser.current == UInt8(ascii: "}") {
      parser.position += 1
    } else {
      while true {
        parser.skipSpace()
        guard parser.current == UInt8(ascii: "\""), let field = parser.key(fields) else { return false }
        parser.skipSpace()
        guard parser.current == UInt8(ascii: ":") else { return false }
        parser.position += 1
        guard let v = parser.value(depth: 1) else { return false }
        if field >= 0 { values[field] = v }
        parser.skipSpace()
        if parser.current == UInt8(ascii: ",") {
          parser.position += 1
        } else if parser.current == UInt8(ascii: "}") {
          parser.position += 1
          break
        } else {
          return false
        }
      }
    }
    parser.skipSpace()
    return parser.position == bytes.count
  }
}

/// The member names `JSONValue.parseObject` keeps, as UTF-8 bytes compared without making a
/// `String` per key: each name's length and first 8 bytes as one integer, so a key is matched by
/// two integer comparisons per name (and `memcmp` for the bytes past 8). Immutable; thread-safe.
public struct JSONFields: Sendable {
  /// The names, in the order of the values `parseObject` fills.
  public let names: [String]
  private let lengths: [Int]
  private let heads: [UInt64]
  /// Every name's UTF-8, one after another, starting at `starts`.
  private let bytes: [UInt8]
  private let starts: [Int]

  /// Fields named `names` (distinct).
  public init(_ names: [String]) {
    self.names = names
    lengths = names.map(\.utf8.count)
    bytes = names.flatMap { Array($0.utf8) }
    var starts: [Int] = [], start = 0
    for length in lengths {
      starts.append(start)
      start += length
    }
    self.starts = starts
    heads = names.map { name in Array(name.utf8).withUnsafeBytes { Self.head($0) } }
  }

  /// Index of the name whose UTF-8 is `key`, or -1.
  func index(of key: UnsafeRawBufferPointer) -> Int {
    let head = Self.head(key)
    for i in lengths.indices where lengths[i] == key.count && heads[i] == head {
      guard key.count > 8 else { return i }
      let equal = bytes.withUnsafeBytes { memcmp($0.baseAddress! + starts[i] + 8, key.baseAddress! + 8, key.count - 8) == 0 }
      if equal { return i }
    }
    return -1
  }

  /// The first 8 bytes of `text` as an integer (zero-padded).
  private static func head(_ text: UnsafeRawBufferPointer) -> UInt64 {
    var head: UInt64 = 0
    withUnsafeMutableBytes(of: &head) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: text.prefix(8))) }
    return head
  }
}

private struct Parser {
  let bytes: UnsafeRawBufferPointer
  var position = 0

  init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  mutating func skipSpace() {
    while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
  }

  mutating func expect(_ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard position + n <= bytes.count else { return false }
    for i in 0..<n where bytes[position + i] != literal.utf8Start[i] { return false }
    position += n
    return true
  }

  mutating func value(depth: Int) -> JSONValue? {
    guard depth < 64 else { return nil }
    skipSpace()
    switch current {
    case UInt8(ascii: "{"): return object(depth: depth)
    case UInt8(ascii: "["): return array(depth: depth)
    case UInt8(ascii: "\""): return string().map(JSONValue.string)
    case UInt8(ascii: "t"): return expect("true") ? .bool(true) : nil
    case UInt8(ascii: "f"): return expect("false") ? .bool(false) : nil
    case UInt8(ascii: "n"): return expect("null") ? .null : nil
    default: return number().map(JSONValue.number)
    }
  }

  mutating func object(depth: Int) -> JSONValue? {
    position += 1
    var result: [String: JSONValue] = [:]
    skipSpace()
    if current == UInt8(ascii: "}") {
      position += 1
      return .object(result)
    }
    while true {
      skipSpace()
      guard current == UInt8(ascii: "\""), let key = string() else { return nil }
      skipSpace()
      guard current == UInt8(ascii: ":") else { return nil }
      position += 1
      guard let v = value(depth: depth + 1) else { return nil }
      result[key] = v
      skipSpace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "}"):
        position += 1
        return .object(result)
      default: return nil
      }
    }
  }

  mutating func array(depth: Int) -> JSONValue? {
    position += 1
    var result: [JSONValue] = []
    skipSpace()
    if current == UInt8(ascii: "]") {
      position += 1
      return .array(result)
    }
    while true {
      guard let v = value(depth: depth + 1) else { return nil }
      result.append(v)
      skipSpace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "]"):
        position += 1
        return .array(result)
      default: return nil
      }
    }
  }

  /// An object's key at its opening quote, as the index of that name in `fields` (-1 for any other
  /// name); nil when the key is not a valid string. Keys without escapes are compared in place.
  mutating func key(_ fields: JSONFields) -> Int? {
    let start = position + 1
    var end = start
    var seen: UInt8 = 0
    while end < bytes.count {
      let c = bytes[end]
      if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
      seen |= c
      end += 1
    }
    if end < bytes.count, bytes[end] == UInt8(ascii: "\""), end > start {
      // The plain case: no escapes, no control characters. Non-ASCII keys still need validating.
      let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
      if seen >= 0x80, String(validating: raw, as: UTF8.self) == nil { return nil }
      position = end + 1
      return fields.index(of: raw)
    }
    guard var text = string() else { return nil }
    return text.withUTF8 { fields.index(of: UnsafeRawBufferPointer($0)) }
  }

  /// A string at the opening quote. Unescaped runs are copied as UTF-8 and validated.
  mutating func string() -> String? {
    position += 1
    let start = position
    // Fast path: no escapes.
    var seen: UInt8 = 0
    while let c = current, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") {
      guard c >= 0x20 else { return nil }
      seen |= c
      position += 1
    }
    guard let stop = current else { return nil }
    if stop == UInt8(ascii: "\"") {
      position += 1
      let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<(position - 1)])
      // ASCII needs no validation; the generic validating initialiser looked up type metadata on
      // every call, a sixth of reading a catalog.
      guard seen >= 0x80 else {
        return String(decoding: UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count),
                      as: UTF8.self)
      }
      return String(validating: raw, as: UTF8.self)
    }
    var utf8 = Array(bytes[start..<position])
    while let c = current {
      position += 1
      switch c {
      case UInt8(ascii: "\""):
        return String(validating: utf8, as: UTF8.self)
      case UInt8(ascii: "\\"):
        guard let e = current else { return nil }
        position += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
          guard var scalar = hex4() else { return nil }
          if (0xD800..<0xDC00).contains(scalar) {
            guard expect("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(scalar) else { return nil }
          utf8 += Array(String(Character(u)).utf8)
        default: return nil
        }
      default:
        guard c >= 0x20 else { return nil }
        utf8.append(c)
      }
    }
    return nil
  }

  mutating func hex4() -> UInt32? {
    guard position + 4 <= bytes.count else { return nil }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[position]
      position += 1
      let digit: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
      default: return nil
      }
      v = v << 4 | digit
    }
    return v
  }

  /// A number per the JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  /// 10^0 ... 10^15, each exact in a Double.
  static let powersOfTen: [Double] = (0...15).map { pow(10, Double($0)) }

  mutating func number() -> Double? {
    let start = position
    func digits() -> Int {
      let from = position
      while let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { position += 1 }
      return position - from
    }
    let negative = current == UInt8(ascii: "-")
    if negative { position += 1 }
    let leadingZero = current == UInt8(ascii: "0")
    let integerDigits = digits()
    guard integerDigits > 0, !(leadingZero && integerDigits > 1) else { return nil }
    // Integers of up to 15 digits (ids, timestamps, quantities) are exact without a text round trip.
    if integerDigits <= 15, current != UInt8(ascii: "."), current != UInt8(ascii: "e"), current != UInt8(ascii: "E") {
      var v: Int64 = 0
      for i in (position - integerDigits)..<position { v = v * 10 + Int64(bytes[i] - UInt8(ascii: "0")) }
      return Double(negative ? -v : v)
    }
    var fractionDigits = 0
    if current == UInt8(ascii: ".") {
      position += 1
      fractionDigits = digits()
      guard fractionDigits > 0 else { return nil }
    }
    var exponent = false
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      exponent = true
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard digits() > 0 else { return nil }
    }
    // Decimals of up to 15 digits in all (prices, ratings, weights): the digits as an integer, exact
    // in a Double, divided by an exact power of ten, is the correctly rounded value (Clinger's fast
    // path), so no text round trip.
    if !exponent, fractionDigits > 0, integerDigits + fractionDigits <= 15 {
      var v: Int64 = 0
      for i in (position - integerDigits - fractionDigits - 1)..<position where bytes[i] != UInt8(ascii: ".") {
        v = v * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
      }
      let value = Double(v) / Self.powersOfTen[fractionDigits]
      return negative ? -value : value
    }
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    return Double(text)
  }
}
