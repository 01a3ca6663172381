import FunnelCore
import MappedStorage

/// Builds an index file: numbered sections, each 64-byte aligned, behind a small directory, and the
/// checksummed `FileFooter`.
///
/// ```
/// section count u32 | reserved u32 | (offset u64, length u64) x count | pad | section 0 | pad | section 1 ...
/// ```
/// Not thread-safe; one per file being written.
public struct SectionedFileWriter {
  private var sections: [[UInt8]] = []

  /// An empty file.
  public init() {}

  /// Appends a section of raw bytes; returns its number.
  @discardableResult
  public mutating func add(bytes: [UInt8]) -> Int {
    sections.append(bytes)
    return sections.count - 1
  }

  /// Appends a section of scalars in host (little-endian) byte order; returns its number.
  @discardableResult
  public mutating func add<T: BitwiseCopyable>(_ values: [T]) -> Int {
    add(bytes: values.withUnsafeBytes { Array($0) })
  }

  /// The finished file: directory, sections and footer.
  public func finish(kind: String, formatVersion: UInt32) -> [UInt8] {
    var out: [UInt8] = []
    func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    func pad() { while out.count % 64 != 0 { out.append(0) } }
    append(UInt32(sections.count))
    append(UInt32(0))
    let directoryEnd = 8 + 16 * sections.count
    var offset = (directoryEnd + 63) / 64 * 64
    var placements: [(Int, Int)] = []
    for s in sections {
      placements.append((offset, s.count))
      offset = (offset + s.count + 63) / 64 * 64
    }
    for (o, l) in placements {
      append(UInt64(o))
      append(UInt64(l))
    }
    for s in sections {
      pad()
      out += s
    }
    return out + FileFooter(kind: kind, formatVersion: formatVersion, payload: out).encoded
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
