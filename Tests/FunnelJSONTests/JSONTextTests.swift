import Foundation
import FunnelJSON
import Testing

@Suite struct JSONTextTests {
  @Test func stringsAndNumbersReadBackWithFoundation() throws {
    var out: [UInt8] = Array("[".utf8)
    JSONText.appendString("a\"b\\c\nd\te\u{1}f ünï 🍵", to: &out)
    for x in [0.0, -3, 1e15, 0.1, 1.0 / 3, -2.5e-8] {
      out.append(UInt8(ascii: ","))
      JSONText.appendNumber(x, to: &out)
    }
    out += Array(",".utf8)
    JSONText.appendNumber(.nan, to: &out)
    out += Array("]".utf8)
    let parsed = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [Any])
    #expect(parsed[0] as? String == "a\"b\\c\nd\te\u{1}f ünï 🍵")
    #expect(parsed[1...6].map { ($0 as? NSNumber)?.doubleValue } == [0.0, -3, 1e15, 0.1, 1.0 / 3, -2.5e-8])
    #expect(parsed[7] is NSNull, "NaN has no JSON form")
  }
}
