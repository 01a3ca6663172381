import FunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MappedStorage

/// Builds an index file: numbered sections, each 64-byte aligned, behind a small directory, and the
/// checksummed `FileFooter`.
///
/// ```
/// section count u32 | reserved u32 | (offset u64, length u64) x count | pad | section 0 | pad | section 1 ...
/// ```
/// Not thread-safe; one per file being written.
public struct SectionedFileWriter {
  private var sections: [PendingFile.Section] = []

  /// An empty file.
  public init() {}

  /// Appends a section of raw bytes; returns its number.
  @discardableResult
  public mutating func add(bytes: [UInt8]) -> Int {
    sections.append(.bytes(bytes))
    return sections.count - 1
  }

  /// Appends a section of scalars in host (little-endian) byte order; returns its number. Arrays of
  /// the common scalar types are kept as they are (no copy of a large build's rows), others copied
  /// to bytes.
  @discardableResult
  public mutating func add<T: BitwiseCopyable>(_ values: [T]) -> Int {
    if let words = values as? [UInt32] {
      sections.append(.words(words))
    } else if let floats = values as? [Float] {
      sections.append(.floats(floats))
    } else if let longs = values as? [UInt64] {
      sections.append(.longs(longs))
    } else {
      return add(bytes: values.withUnsafeBytes { Array($0) })
    }
    return sections.count - 1
  }

  /// Appends a section whose bytes are in `spool` (read when the file is written); returns its number.
  @discardableResult
  public mutating func add(spool: SpoolFile) -> Int {
    sections.append(.spool(spool))
    return sections.count - 1
  }

  /// The finished file: directory, sections and footer.
  public func finish(kind: String, formatVersion: UInt32) -> [UInt8] {
    file(kind: kind, formatVersion: formatVersion).bytes
  }

  /// The finished file, not yet laid out: turn it into bytes, or stream it to disk without a
  /// second in-memory copy.
  public func file(kind: String, formatVersion: UInt32) -> PendingFile {
    PendingFile(sections: sections, kind: kind, formatVersion: formatVersion)
  }
}

/// A finished index file held as its sections: `contents` lays it out in memory, `write(to:)`
/// streams it to a file computing the footer's checksum on the way. Immutable.
public struct PendingFile: Sendable {
  /// A section's bytes: in memory, or in a temporary file (`SpoolFile`) until written.
  enum Section: Sendable {
    case bytes([UInt8])
    case words([UInt32])
    case floats([Float])
    case longs([UInt64])
    case spool(SpoolFile)

    /// Size in bytes.
    var count: Int {
      switch self {
      case .bytes(let bytes): bytes.count
      case .words(let words): 4 * words.count
      case .floats(let floats): 4 * floats.count
      case .longs(let longs): 8 * longs.count
      case .spool(let spool): spool.count
      }
    }

    /// Calls `body` with the section's bytes, in pieces.
    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
      switch self {
      case .bytes(let bytes): try bytes.withUnsafeBytes(body)
      case .words(let words): try words.withUnsafeBytes(body)
      case .floats(let floats): try floats.withUnsafeBytes(body)
      case .longs(let longs): try longs.withUnsafeBytes(body)
      case .spool(let spool): try spool.forEachChunk { try body($0) }
      }
    }
  }

  let sections: [Section]
  let kind: String
  let formatVersion: UInt32

  /// The file's bytes: directory, sections and footer. Throws `.failedPrecondition` when a
  /// spooled section cannot be read back.
  public func contents() throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(sections.reduce(64 + 16 * sections.count + FileFooter.size) { $0 + $1.count + 64 })
    try forEachPiece { out += $0 }
    return out + FileFooter(kind: kind, formatVersion: formatVersion, payload: out).encoded
  }

  /// `contents()` for a file made only of in-memory sections (every writer but a spooled one
  /// makes these), which cannot fail.
  public var bytes: [UInt8] {
    do {
      return try contents()
    } catch {
      preconditionFailure("PendingFile.bytes of a spooled file: use contents() (\(error))")
    }
  }

  /// Writes the file to `path` (created or truncated) in pieces. Returns its size and the CRC-32C
  /// of the whole file (as the manifest records it). Throws `.failedPrecondition` naming the path.
  public func write(to path: String) throws -> (bytes: Int, crc32c: UInt32) {
    guard let stream = fopen(path, "wb") else {
      throw FunnelError(.failedPrecondition, "cannot create \(path): \(String(cString: strerror(errno)))")
    }
    var failed = false
    var payloadCRC: UInt32 = 0
    var length = 0
    func put(_ piece: UnsafeRawBufferPointer) {
      guard !failed, piece.count > 0 else { return }
      failed = fwrite(piece.baseAddress!, 1, piece.count, stream) != piece.count
    }
    do {
      try forEachPiece { raw in
        payloadCRC = CRC32C.checksum(raw, seed: payloadCRC)
        put(raw)
        length += raw.count
      }
    } catch {
      fclose(stream)
      throw error
    }
    var footer = FileFooter(kind: kind, formatVersion: formatVersion, payload: [])
    footer.payloadLength = UInt64(length)
    footer.checksum = payloadCRC
    let encoded = footer.encoded
    encoded.withUnsafeBytes { put($0) }
    failed = fclose(stream) != 0 || failed
    guard !failed else { throw FunnelError(.failedPrecondition, "cannot write \(path): \(String(cString: strerror(errno)))") }
    return (length + encoded.count, CRC32C.checksum(encoded, seed: payloadCRC))
  }

  /// Calls `body` with the directory, then each padding and section (a spooled one in pieces), in
  /// file order.
  private func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    var header: [UInt8] = []
    func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
    append(UInt32(sections.count))
    append(UInt32(0))
    let directoryEnd = 8 + 16 * sections.count
    var offset = (directoryEnd + 63) / 64 * 64
    for s in sections {
      append(UInt64(offset))
      append(UInt64(s.count))
      offset = (offset + s.count + 63) / 64 * 64
    }
    var written = header.count
    try header.withUnsafeBytes(body)
    let zeros = [UInt8](repeating: 0, count: 64)
    for s in sections {
      let pad = (64 - written % 64) % 64
      if pad > 0 { try zeros.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<pad])) } }
      try s.forEachPiece(body)
      written += pad + s.count
    }
  }
}

/// Reads a file written by `SectionedFileWriter`: validates the footer and the directory at open
/// (O(sections); the payload checksum too when asked), then hands out bounds-checked typed views.
///
/// Immutable; safe to share across threads.
public struct SectionedFile: Sendable {
  /// The underlying bytes (mapped or in memory).
  public let region: ByteRegion
  private let sections: [(offset: Int, length: Int)]

  /// Opens `region` as a file of `kind` in one of `versions`. Throws `.failedPrecondition` naming the
  /// file for any inconsistency.
  public init(_ region: ByteRegion, kind: String, versions: ClosedRange<UInt32>, verifyChecksum: Bool) throws {
    let footer = try FileFooter.validate(region, kind: kind, supportedVersions: versions, verifyChecksum: verifyChecksum)
    let payload = Int(footer.payloadLength)
    let count = Int(try region.readInteger(at: 0, as: UInt32.self))
    guard count <= 1_024, 8 + 16 * count <= payload else {
      throw FunnelError(.failedPrecondition, "\(region.path): directory of \(count) sections does not fit")
    }
    var sections: [(Int, Int)] = []
    for i in 0..<count {
      let offset = try region.readInteger(at: 8 + 16 * i, as: UInt64.self)
      let length = try region.readInteger(at: 16 + 16 * i, as: UInt64.self)
      guard offset % 64 == 0, offset <= UInt64(payload), length <= UInt64(payload) - offset else {
        throw FunnelError(.failedPrecondition, "\(region.path): section \(i) (\(offset)+\(length)) is outside the payload")
      }
      sections.append((Int(offset), Int(length)))
    }
    self.region = region
    self.sections = sections
  }

  /// Number of sections.
  public var sectionCount: Int { sections.count }

  /// Throws unless the file has at least `count` sections.
  public func require(sections count: Int) throws {
    guard sections.count >= count else {
      throw FunnelError(.failedPrecondition, "\(region.path): \(sections.count) sections, expected \(count)")
    }
  }

  /// Section `i` as scalars of `T`; throws if its length is not a multiple of `T`'s size or, when
  /// `expected` is given, it does not hold exactly that many values.
  public func scalars<T: BitwiseCopyable>(_ i: Int, as type: T.Type, expected: Int? = nil) throws -> ScalarView<T> {
    let (offset, length) = sections[i]
    guard length % MemoryLayout<T>.stride == 0 else {
      throw FunnelError(.failedPrecondition, "\(region.path): section \(i) is \(length) bytes, not a whole number of \(T.self)")
    }
    let view = try region.view(of: T.self, offset: offset, count: length / MemoryLayout<T>.stride)
    if let expected, view.count != expected {
      throw FunnelError(.failedPrecondition, "\(region.path): section \(i) holds \(view.count) values, expected \(expected)")
    }
    return view
  }

  /// The byte range of section `i` within the region.
  public func range(_ i: Int) -> (offset: Int, length: Int) { sections[i] }

  /// A corruption error about this file.
  public func corrupt(_ message: String) -> FunnelError {
    FunnelError(.failedPrecondition, "\(region.path): \(message)")
  }
}
