import Foundation
import FunnelCore

/// Where the next page of a search starts, handed to the client as an opaque string and sent back
/// with the same query, filter and sort.
///
/// - Keyed sorts (price, popularity, newness, attributes) continue after the last item's
///   (key, document): no item is repeated or skipped however the real-time signals move, and a
///   cursor stays valid across generations (items with exactly the last key may then repeat or be
///   missed, as the documents are numbered anew).
/// - Relevance pages are positions in the ranked list, at most `relevanceWindow` deep: the model
///   ranks again for each page, so an item may move between pages when the user's signals change.
///
/// Encoded as 25 bytes of base64url: a format byte, the fingerprint of query, filter and sort (a
/// cursor from another search is refused), the offset, the key and the document.
public struct SearchCursor: Hashable, Sendable {
  /// Deepest relevance page end (the text channel's quota).
  public static let relevanceWindow = 1_000

  /// Fingerprint of the search that issued it.
  public var fingerprint: UInt64
  /// Items already shown.
  public var offset: Int
  /// Keyed sorts: the last item's oriented key and document.
  public var key: Double
  public var doc: UInt32

  static let format: UInt8 = 2
  static let byteCount = 1 + 8 + 4 + 8 + 4

  /// A cursor.
  public init(fingerprint: UInt64, offset: Int, key: Double = 0, doc: UInt32 = 0) {
    self.fingerprint = fingerprint
    self.offset = offset
    self.key = key
    self.doc = doc
  }

  /// The fingerprint of a search: its query, filter and sort (what decides the order of results).
  public static func fingerprint(query: String, filter: String, sort: SearchSort) -> UInt64 {
    var h = FNV1a()
    h.add(query)
    h.add("\u{1F}")
    h.add(filter)
    h.add("\u{1F}")
    h.add(sort.name)
    return h.value
  }

  /// The cursor as the client sees it.
  public var encoded: String {
    var bytes: [UInt8] = [Self.format]
    func put<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { bytes += $0 } }
    put(fingerprint)
    put(UInt32(clamping: offset))
    put(key.bitPattern)
    put(doc)
    return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }

  /// Decodes `text` sent back by a client for a search with `fingerprint`. Throws
  /// `FunnelError.invalidArgument` naming `field` when it is malformed or from another search.
  public init(decoding text: String, fingerprint: UInt64, field: String = "cursor") throws {
    guard text.utf8.count <= 64 else { throw FunnelError.invalidArgument(field: field, "is not a cursor this server issued") }
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.utf8.count % 4 != 0 { base64 += "=" }
    guard let data = Data(base64Encoded: base64), data.count == Self.byteCount, data.first == Self.format else {
      throw FunnelError.invalidArgument(field: field, "is not a cursor this server issued")
    }
    let bytes = [UInt8](data)
    var position = 1
    func get<T: FixedWidthInteger>(_: T.Type) -> T {
      var x: T = 0
      for i in 0..<MemoryLayout<T>.size { x |= T(bytes[position + i]) << (8 * i) }
      position += MemoryLayout<T>.size
      return x
    }
    let issuedFor = get(UInt64.self)
    guard issuedFor == fingerprint else {
      throw FunnelError.invalidArgument(field: field, "was issued for another query, filter or sort")
    }
    self.fingerprint = issuedFor
    self.offset = Int(get(UInt32.self))
    self.key = Double(bitPattern: get(UInt64.self))
    self.doc = get(UInt32.self)
    guard !key.isNaN, offset <= Self.relevanceWindow * 1_000 else {
      throw FunnelError.invalidArgument(field: field, "is not a cursor this server issued")
    }
  }
}
