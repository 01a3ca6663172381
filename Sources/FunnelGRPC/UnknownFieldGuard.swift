import Synchronization
import SwiftProtobuf

/// Refuses requests that carry more than a few bytes of fields the message type does not know,
/// before they are decoded: a client can otherwise make the server parse and keep megabytes of
/// unknown fields for nothing. Scans the message's top-level fields only (tag, wire type, length:
/// O(fields), no allocation); unknown fields nested in known ones are skipped, not kept, by the
/// decoder (`discardUnknownFields`). Every length read from the bytes is checked against what is
/// left, so a malformed message is left to the decoder to reject.
///
/// Which field numbers a type knows is learned once per type by probing numbers 1...256 with
/// one-field messages of each wire type (an unknown number always lands in `unknownFields`; a known
/// one is read from the probe of its own wire type). Thread-safe.
enum UnknownFieldGuard {
  /// Bytes of unknown top-level fields a request may carry (newer clients adding a field or two
  /// still work against an older server).
  static let maxUnknownBytes = 1_024
  /// The highest field number probed; Funnel's protos use small numbers.
  static let probedFieldNumbers = 256

  private static let known = Mutex<[ObjectIdentifier: [Bool]]>([:])

  /// Bytes of top-level fields of `bytes` whose numbers `Message` does not define (field numbers
  /// beyond the probed range count as unknown). Stops at the first malformed field (0 for it).
  static func unknownBytes<Message: SwiftProtobuf.Message>(_ bytes: UnsafeRawBufferPointer, as: Message.Type) -> Int {
    let knownNumbers = knownFieldNumbers(Message.self)
    var offset = 0
    var unknown = 0
    while offset < bytes.count {
      let start = offset
      guard let tag = varint(bytes, &offset) else { return unknown }
      let number = tag >> 3
      switch tag & 7 {
      case 0: guard varint(bytes, &offset) != nil else { return unknown }
      case 1: offset += 8
      case 2:
        guard let length = varint(bytes, &offset), length <= UInt64(bytes.count - offset) else { return unknown }
        offset += Int(length)
      case 5: offset += 4
      default: return unknown  // groups (3, 4) and invalid types: the decoder decides
      }
      guard offset <= bytes.count else { return unknown }
      if number == 0 || number > UInt64(probedFieldNumbers) || !knownNumbers[Int(number)] { unknown += offset - start }
    }
    return unknown
  }

  /// A base-128 varint at `offset` (advanced past it), or nil when truncated or longer than 10 bytes.
  private static func varint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt64? {
    var value: UInt64 = 0
    for shift in stride(from: 0, to: 70, by: 7) {
      guard offset < bytes.count else { return nil }
      let byte = bytes[offset]
      offset += 1
      value |= UInt64(byte & 0x7F) << UInt64(shift)
      if byte & 0x80 == 0 { return value }
    }
    return nil
  }

  /// Index n tells whether field number n is defined by `Message` (index 0 unused).
  static func knownFieldNumbers<Message: SwiftProtobuf.Message>(_ type: Message.Type) -> [Bool] {
    let key = ObjectIdentifier(type)
    if let cached = known.withLock({ $0[key] }) { return cached }
    var numbers = [Bool](repeating: false, count: probedFieldNumbers + 1)
    for number in 1...probedFieldNumbers {
      numbers[number] = isKnown(number, Message.self)
    }
    known.withLock { $0[key] = numbers }
    return numbers
  }

  /// Whether `Message` defines field `number`: a one-field message of some wire type decodes with
  /// nothing unknown (SwiftProtobuf keeps a known field sent with another wire type as unknown).
  private static func isKnown<Message: SwiftProtobuf.Message>(_ number: Int, _ type: Message.Type) -> Bool {
    // varint 0; fixed64 0; an empty length-delimited value; fixed32 0.
    let payloads: [(wireType: UInt64, bytes: [UInt8])] = [(0, [0]), (1, [UInt8](repeating: 0, count: 8)), (2, [0]),
                                                           (5, [0, 0, 0, 0])]
    for (wireType, payload) in payloads {
      var probe: [UInt8] = []
      var tag = UInt64(number) << 3 | wireType
      while tag >= 0x80 {
        probe.append(UInt8(tag & 0x7F) | 0x80)
        tag >>= 7
      }
      probe.append(UInt8(tag))
      guard let message = try? Message(serializedBytes: probe + payload) else { return true }
      if message.unknownFields.data.isEmpty { return true }
    }
    return false
  }
}
