/// FNV-1a, 64 bits: a fast, stable hash of bytes (the same on every replica and run, unlike
/// Swift's `Hasher`), for assignments, seeds and compact ids. Value type; O(bytes).
public struct FNV1a: Sendable {
  /// The hash of what was added so far.
  public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  /// An empty hash.
  public init() {}

  /// Adds the UTF-8 bytes of `text`.
  public mutating func add(_ text: String) {
    for byte in text.utf8 { add(byte) }
  }

  /// Adds one byte.
  public mutating func add(_ byte: UInt8) { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }

  /// The hash of `text`'s UTF-8 bytes.
  public static func hash(_ text: String) -> UInt64 {
    var h = FNV1a()
    h.add(text)
    return h.value
  }
}
