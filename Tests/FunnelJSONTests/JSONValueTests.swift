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

  @Test func refusesInvalidUTF8() {
    let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
    #expect(bytes.withUnsafeBytes { JSONValue.parse($0) } == nil)
  }
}
