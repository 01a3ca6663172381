import FunnelCore
import MappedStorage

/// The trailer every index file ends with (after tantivy's `footer.rs` and Lucene's `CodecUtil`):
///
/// ```
/// payload bytes ... | magic "FNL1" (4) | kind (4 ASCII) | format version u32 | payload length u64 | crc32c u32
/// ```
/// All integers little-endian; 24 bytes in all. A reader checks magic, kind, version, length and
/// checksum before it trusts a single payload byte, so a truncated or corrupted file fails clearly.
public struct FileFooter: Hashable, Sendable {
  /// Size of the footer in bytes.
  public static let size = 24
  static let magic: [UInt8] = Array("FNL1".utf8)

  /// Four ASCII characters naming the structure, e.g. `TERM`, `POST`, `NBRS`.
  public var kind: String
  /// Format version of the payload.
  public var formatVersion: UInt32
  /// Payload length in bytes (everything before the footer).
  public var payloadLength: UInt64
  /// CRC-32C of the payload.
  public var checksum: UInt32

  /// Builds the footer of `payload`. Precondition: `kind` is 4 ASCII bytes.
  public init(kind: String, formatVersion: UInt32, payload: [UInt8]) {
    precondition(kind.utf8.count == 4 && kind.utf8.allSatisfy { $0 < 0x80 }, "footer kind must be 4 ASCII bytes")
    self.kind = kind
    self.formatVersion = formatVersion
    self.payloadLength = UInt64(payload.count)
    self.checksum = CRC32C.checksum(payload)
  }

  /// The 24 footer bytes.
  public var encoded: [UInt8] {
    var out = Self.magic + Array(kind.utf8)
    withUnsafeBytes(of: formatVersion.littleEndian) { out += $0 }
    withUnsafeBytes(of: payloadLength.littleEndian) { out += $0 }
    withUnsafeBytes(of: checksum.littleEndian) { out += $0 }
    return out
  }

  /// Validates the footer of a mapped file against the expected `kind` and supported versions, and
  /// (unless `verifyChecksum` is false: O(size), skipped for fast opens) the checksum of its payload. Returns the footer; throws `.failedPrecondition` naming the file and
  /// what is wrong (too short, bad magic, other kind, unsupported version, length or checksum mismatch).
  public static func validate(_ file: ByteRegion, kind: String, supportedVersions: ClosedRange<UInt32>,
                              verifyChecksum: Bool = true) throws -> FileFooter {
    guard file.count >= size else {
      throw FunnelError(.failedPrecondition, "\(file.path): \(file.count) bytes is too short for a footer (truncated?)")
    }
    let start = file.count - size
    let (magic, foundKind) = try file.withBytes(offset: start, length: 8) {
      (Array($0[0..<4]), String(decoding: $0[4..<8], as: UTF8.self))
    }
    guard magic == Self.magic else {
      throw FunnelError(.failedPrecondition, "\(file.path): no Funnel footer (bad magic; truncated or not an index file)")
    }
    guard foundKind == kind else {
      throw FunnelError(.failedPrecondition, "\(file.path): holds '\(foundKind)', expected '\(kind)'")
    }
    let version: UInt32 = try file.readInteger(at: start + 8)
    guard supportedVersions.contains(version) else {
      throw FunnelError(.failedPrecondition,
                        "\(file.path): format version \(version) is not supported (supported: \(supportedVersions))")
    }
    let length: UInt64 = try file.readInteger(at: start + 12)
    guard length == UInt64(start) else {
      throw FunnelError(.failedPrecondition, "\(file.path): footer says \(length) payload bytes, file has \(start)")
    }
    let stored: UInt32 = try file.readInteger(at: start + 20)
    let actual = verifyChecksum ? try file.withBytes(offset: 0, length: start) { CRC32C.checksum($0) } : stored
    guard stored == actual else {
      throw FunnelError(.failedPrecondition,
                        "\(file.path): checksum mismatch (stored \(stored), computed \(actual)); the file is corrupt")
    }
    var footer = FileFooter(kind: kind, formatVersion: version, payload: [])
    footer.payloadLength = length
    footer.checksum = stored
    return footer
  }
}
