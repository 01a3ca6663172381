import FunnelCore

/// The compact binary form of a `RecentInteraction`, as network stores keep it (one Redis list
/// entry): layout version (1 byte, 1), event kind (1 byte, index in `EventKind.allCases`), timestamp
/// (Unix ms, 8 bytes little-endian), then the item id's UTF-8 bytes. 10 bytes plus the id, against
/// about 70 for the same interaction as JSON.
public enum PackedInteraction {
  /// The layout version written first.
  public static let layoutVersion: UInt8 = 1

  /// Encodes `interaction`. O(id length).
  public static func encode(_ interaction: RecentInteraction) -> [UInt8] {
    var bytes: [UInt8] = [layoutVersion, UInt8(EventKind.allCases.firstIndex(of: interaction.kind) ?? 0)]
    bytes.reserveCapacity(10 + interaction.itemID.utf8.count)
    withUnsafeBytes(of: interaction.timestampMs.littleEndian) { bytes += $0 }
    bytes += interaction.itemID.utf8
    return bytes
  }

  /// Decodes bytes written by `encode`; nil for anything else (an unknown layout or kind, too short,
  /// an empty id), so a corrupt entry is skipped rather than trusted.
  public static func decode(_ bytes: [UInt8]) -> RecentInteraction? {
    guard bytes.count > 10, bytes[0] == layoutVersion, Int(bytes[1]) < EventKind.allCases.count else { return nil }
    var timestamp: Int64 = 0
    for i in 0..<8 { timestamp |= Int64(bytes[2 + i]) << (8 * Int64(i)) }
    let id = String(decoding: bytes[10...], as: UTF8.self)
    return RecentInteraction(itemID: id, kind: EventKind.allCases[Int(bytes[1])], timestampMs: timestamp)
  }
}
