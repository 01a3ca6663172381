import Foundation
import FunnelCore
import IndexFormat

/// Where a build puts the files of a generation as each is finished: in memory
/// (`MemoryGenerationSink`) or straight into a directory (`GenerationDirectoryWriter`), so a large
/// build holds one output file at a time, never the whole generation. Sendable: a build may hand
/// its sink to another thread (one at a time, under a lock) to put a file as soon as it is made.
public protocol GenerationSink: Sendable {
  /// Stores file `name`; returns its manifest entry (size, CRC-32C of the whole file).
  mutating func put(_ name: String, _ file: PendingFile) throws -> GenerationManifest.FileEntry
  /// Stores file `name` given as finished bytes.
  mutating func put(_ name: String, bytes: [UInt8]) throws -> GenerationManifest.FileEntry
}

/// Keeps the files in memory (the embedded default, tests, benchmarks). Not thread-safe.
public struct MemoryGenerationSink: GenerationSink {
  /// File name -> bytes.
  public private(set) var images: [String: [UInt8]] = [:]
  /// An empty sink.
  public init() {}

  public mutating func put(_ name: String, _ file: PendingFile) throws -> GenerationManifest.FileEntry {
    try put(name, bytes: file.contents())
  }

  public mutating func put(_ name: String, bytes: [UInt8]) throws -> GenerationManifest.FileEntry {
    images[name] = bytes
    return GenerationManifest.FileEntry(name: name, bytes: bytes.count, crc32c: CRC32C.checksum(bytes))
  }
}

/// Writes a generation as `root/<version>/`, atomically: files go into a hidden temporary directory
/// (`root/.tmp-<version>`) as they are finished; `commit` adds the manifest and renames the directory
/// into place, so a reader never sees half a generation. A writer that is never committed leaves
/// only the hidden directory, which the next build of that version replaces. Not thread-safe.
public struct GenerationDirectoryWriter: GenerationSink {
  /// The directory holding generations.
  public let root: String
  /// The generation's name.
  public let version: String
  private var temporary: String { root + "/.tmp-" + version }
  private var final: String { root + "/" + version }

  /// Prepares `root/.tmp-<version>`. Throws `.failedPrecondition` if the generation already exists
  /// (generations are immutable) or the directory cannot be made.
  public init(root: String, version: String) throws {
    self.root = root
    self.version = version
    let fm = FileManager.default
    guard !fm.fileExists(atPath: final) else {
      throw FunnelError(.failedPrecondition, "\(final) already exists; generations are immutable")
    }
    do {
      try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
      try? fm.removeItem(atPath: temporary)
      try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
    } catch {
      throw FunnelError(.failedPrecondition, "cannot write generation under \(root): \(error.localizedDescription)")
    }
  }

  public mutating func put(_ name: String, _ file: PendingFile) throws -> GenerationManifest.FileEntry {
    let (bytes, crc) = try file.write(to: temporary + "/" + name)
    return GenerationManifest.FileEntry(name: name, bytes: bytes, crc32c: crc)
  }

  public mutating func put(_ name: String, bytes: [UInt8]) throws -> GenerationManifest.FileEntry {
    do {
      try Data(bytes).write(to: URL(fileURLWithPath: temporary + "/" + name))
    } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(temporary)/\(name): \(error.localizedDescription)")
    }
    return GenerationManifest.FileEntry(name: name, bytes: bytes.count, crc32c: CRC32C.checksum(bytes))
  }

  /// Writes `manifest.json` and moves the generation into place; returns its path. On failure the
  /// temporary directory is removed.
  public func commit(_ manifest: GenerationManifest) throws -> String {
    let fm = FileManager.default
    do {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary + "/manifest.json"))
      try fm.moveItem(atPath: temporary, toPath: final)
    } catch {
      try? fm.removeItem(atPath: temporary)
      throw FunnelError(.failedPrecondition, "cannot write generation under \(root): \(error.localizedDescription)")
    }
    return final
  }
}
