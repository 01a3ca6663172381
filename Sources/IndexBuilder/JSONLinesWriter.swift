import FunnelCore
import FunnelJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes catalog items or behaviour events as JSON lines (the schema `JSONLines` reads), one at a
/// time through a 1 MiB buffer, so tens of millions of lines stream to disk in constant memory.
/// Keys are written in sorted order; numbers in Swift's shortest round-trip form (embeddings as the
/// exact double of each float, so they read back bit-identical). Not thread-safe; call `close`.
public struct JSONLinesWriter: ~Copyable {
  private let path: String
  private let stream: UnsafeMutablePointer<FILE>
  private var buffer: [UInt8] = []
  private var failed = false
  /// Lines written so far.
  public private(set) var lines = 0

  /// Creates (or truncates) `path`. Throws `.failedPrecondition` naming it.
  public init(path: String) throws {
    guard let stream = fopen(path, "wb") else {
      throw FunnelError(.failedPrecondition, "cannot create \(path): \(String(cString: strerror(errno)))")
    }
    self.path = path
    self.stream = stream
    buffer.reserveCapacity(1 << 20)
  }

  deinit { fclose(stream) }

  /// Appends `item` as a catalog line.
  public mutating func write(_ item: CatalogItem) throws {
    Self.appendObject(item, to: &buffer)
    try endLine()
  }

  /// The catalog JSON object of `item` (one line's text without the newline): what the catalog
  /// change feed carries. O(item size).
  public static func catalogLine(_ item: CatalogItem) -> String {
    var buffer: [UInt8] = []
    appendObject(item, to: &buffer)
    return String(decoding: buffer, as: UTF8.self)
  }

  private static func appendObject(_ item: CatalogItem, to buffer: inout [UInt8]) {
    func key(_ name: String, first: Bool = false) {
      if !first { buffer.append(UInt8(ascii: ",")) }
      JSONText.appendString(name, to: &buffer)
      buffer.append(UInt8(ascii: ":"))
    }
    func number(_ x: Double) {
      precondition(x.isFinite, "JSON numbers are finite")
      JSONText.appendNumber(x, to: &buffer)
    }
    func string(_ s: String) { JSONText.appendString(s, to: &buffer) }
    buffer.append(UInt8(ascii: "{"))
    if !item.attributes.isEmpty {
      key("attrs", first: true)
      buffer.append(UInt8(ascii: "{"))
      for (i, (name, value)) in item.attributes.sorted(by: { $0.key < $1.key }).enumerated() {
        key(name, first: i == 0)
        switch value {
        case .text(let text): string(text)
        case .number(let x): number(x)
        }
      }
      buffer.append(UInt8(ascii: "}"))
    }
    key("brand", first: item.attributes.isEmpty)
    string(item.brand)
    key("category")
    string(item.category)
    if !item.embedding.isEmpty {
      key("embedding")
      buffer.append(UInt8(ascii: "["))
      for (i, x) in item.embedding.enumerated() {
        if i > 0 { buffer.append(UInt8(ascii: ",")) }
        number(Double(x))
      }
      buffer.append(UInt8(ascii: "]"))
    }
    key("id")
    string(item.id)
    key("in_stock")
    buffer += (item.inStock ? "true" : "false").utf8
    key("price")
    number(item.price)
    key("tags")
    buffer.append(UInt8(ascii: "["))
    for (i, tag) in item.tags.enumerated() {
      if i > 0 { buffer.append(UInt8(ascii: ",")) }
      string(tag)
    }
    buffer.append(UInt8(ascii: "]"))
    key("title")
    string(item.title)
    buffer.append(UInt8(ascii: "}"))
  }

  /// Appends `event` as an event line.
  public mutating func write(_ event: BehaviourEvent) throws {
    begin()
    key("event_id", first: true)
    string(event.eventID)
    key("item_id")
    string(event.itemID)
    key("price")
    number(event.price)
    key("quantity")
    buffer += String(event.quantity).utf8
    key("session_id")
    string(event.sessionID)
    key("timestamp_ms")
    buffer += String(event.timestampMs).utf8
    key("type")
    string(event.kind.rawValue)
    key("user_id")
    string(event.userID)
    try end()
  }

  /// Flushes and closes the file. Throws `.failedPrecondition` if any write failed.
  public consuming func close() throws {
    flush()
    let closed = fflush(stream) == 0
    guard closed, !failed else {
      throw FunnelError(.failedPrecondition, "cannot write \(path): \(String(cString: strerror(errno)))")
    }
  }

  // MARK: Encoding

  private mutating func begin() { buffer.append(UInt8(ascii: "{")) }

  private mutating func end() throws {
    buffer.append(UInt8(ascii: "}"))
    try endLine()
  }

  private mutating func endLine() throws {
    buffer.append(0x0A)
    lines += 1
    if buffer.count >= 1 << 20 { flush() }
    if failed { throw FunnelError(.failedPrecondition, "cannot write \(path): \(String(cString: strerror(errno)))") }
  }

  private mutating func flush() {
    guard !buffer.isEmpty else { return }
    let written = buffer.withUnsafeBytes { fwrite($0.baseAddress!, 1, $0.count, stream) }
    failed = failed || written != buffer.count
    buffer.removeAll(keepingCapacity: true)
  }

  private mutating func key(_ name: String, first: Bool = false) {
    if !first { buffer.append(UInt8(ascii: ",")) }
    string(name)
    buffer.append(UInt8(ascii: ":"))
  }

  private mutating func number(_ x: Double) {
    // JSON has no NaN or infinity; the catalog and event readers refuse them, so neither is written.
    precondition(x.isFinite, "JSON numbers are finite")
    JSONText.appendNumber(x, to: &buffer)
  }

  private mutating func string(_ s: String) {
    JSONText.appendString(s, to: &buffer)
  }
}
