import FunnelJSON
import Testing

/// The parser behind the catalog and event readers and the HTTP event route.
@Suite struct JSONValueTests {
  @Test(arguments: [
    ("{\"a\":[1,-2.5e3,true,false,null,\"x\"],\"b\":{}}",
     JSONValue.object(["a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]), "b": .object([:])])),
    ("  \"\\u00e9\\ud83c\\udf75\\n\\\"\"  ", .string("é🍵\n\"")),
    ("0", .number(0)),
    ("123456789012345680", .number(123_456_789_012_345_680)),
    ("[]", .array([])),
  ])
  func parsesValidDocuments(text: String, expected: JSONValue) {
    let parsed = Array(text.utf8).withUnsafeBytes { JSONValue.parse($0) }
    #expect(parsed == expected)
  }

  @Test(arguments: ["", "{", "{\"a\":1,}", "[1 2]", "01", "1.", "-", ".5", "1e", "\"abc", "\"a\u{1}b\"", "{} {}",
                    "tru", "nul", "\"\\ud83c\"", "\"\\x\"", "{1:2}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)])
  func refusesInvalidDocuments(text: String) {
    #expect(Array(text.utf8).withUnsafeBytes { JSONValue.parse($0) } == nil)
  }

  /// Short decimals take a fast path (digits over a power of ten): it must give the correctly
  /// rounded value that parsing the text gives, bit for bit, signs and zeros included.
  @Test func decimalsAreExactlyWhatParsingTheTextGives() {
    var texts = ["0.5", "-0.0", "0.0", "1.50", "80.63", "0.1", "0.3", "-123.456", "999999999999.999", "0.000000000000001",
                 "123456789012.345", "1234567890123.456", "9007199254740.993", "0.1e1", "7.38E-2", "-5e-324"]
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2_000 {
      let whole = Int.random(in: 0..<6, using: &generator), fraction = Int.random(in: 1..<12, using: &generator)
      let digits = (0..<(whole + fraction)).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
      let integer = whole == 0 ? "0" : String(Int(digits.prefix(whole))!)
      texts.append((Bool.random(using: &generator) ? "-" : "") + integer + "." + digits.suffix(fraction))
    }
    for text in texts {
      guard case .number(let parsed) = Array(text.utf8).withUnsafeBytes({ JSONValue.parse($0) }) else {
        Issue.record("\(text) did not parse")
        continue
      }
      #expect(parsed.bitPattern == Double(text)!.bitPattern, "\(text)")
    }
  }

  @Test func refusesInvalidUTF8() {
    let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
    #expect(bytes.withUnsafeBytes { JSONValue.parse($0) } == nil)
  }

  @Test func parseObjectKeepsTheNamedMembersAndRefusesWhatParseRefuses() {
    // Names longer than 8 bytes that share their first 8 (and their length) are told apart.
    let fields = JSONFields(["id", "price", "tags", "é", "timestamp_ms", "timestamp_xx", "timestam", ""])
    let documents = [
      #"{"timestamp_xx":1,"timestamp_ms":2,"timestam":3,"timestamp":4,"":5,"timestamp_m":6}"#,
      #"{"id":"a","price":2.5,"tags":["x"],"other":{"deep":[1,2,{"z":null}]}}"#,
      #"{"price":1,"id":"b","price":3}"#,  // a repeated key: the last one
      #"{"\u0069d":"escaped key","\u00e9":true}"#,
      #"  {"id" : "spaced" }  "#,
      #"{}"#,
      #"{"id":"caf\u00e9","price":-0.5e3}"#,
      #"{"id":"x",}"#, #"{"id":"x""#, #"["id"]"#, #""id""#, #"{"id":"\ud800"}"#, #"{"i\d":1}"#, "{\"id\":\"tab\there\"}",
      #"{"id":"x"} trailing"#, #"{"a":{"b":"#, "",
    ]
    var values: [JSONValue?] = []
    for text in documents {
      let parsed = text.utf8.withContiguousStorageIfAvailable { JSONValue.parse(UnsafeRawBufferPointer($0)) } ?? nil
      let ok = Array(text.utf8).withUnsafeBytes { JSONValue.parseObject($0, fields: fields, into: &values) }
      guard case .object(let object) = parsed else {
        #expect(!ok, "\(text)")
        continue
      }
      #expect(ok, "\(text)")
      #expect(values == fields.names.map { object[$0] }, "\(text)")
    }
  }
}

