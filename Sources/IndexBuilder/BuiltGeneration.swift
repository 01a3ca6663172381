import Foundation
import FunnelCore
import IndexFormat
import MappedStorage

/// The files of a freshly built generation, in memory: open them in place, or write them to disk.
public struct BuiltGeneration: Sendable {
  public var manifest: GenerationManifest
  /// File name -> bytes, for every name in `IndexGeneration.fileNames`.
  public let images: [String: [UInt8]]

  /// Opens the images in memory (the embedded default and tests use this; no disk involved).
  public func open() throws -> IndexGeneration {
    var regions: [String: ByteRegion] = [:]
    for (name, bytes) in images { regions[name] = ByteRegion(copying: bytes, name: "\(manifest.version)/\(name)") }
    return try IndexGeneration(manifest: manifest, regions: regions, verifyChecksums: false)
  }

  /// Writes the generation as `root/<version>/` atomically (`GenerationDirectoryWriter`): a reader
  /// never sees a half-written generation. Returns its path.
  public func write(under root: String) throws -> String {
    var writer = try GenerationDirectoryWriter(root: root, version: manifest.version)
    for (name, bytes) in images { _ = try writer.put(name, bytes: bytes) }
    return try writer.commit(manifest)
  }
}

/// Finds generations under a root directory. Generation names sort by build time.
public enum GenerationDirectory {
  /// Names of complete generations under `root` (those with a manifest), oldest first.
  public static func generations(under root: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return names.filter { !$0.hasPrefix(".") && FileManager.default.fileExists(atPath: root + "/" + $0 + "/manifest.json") }
      .sorted()
  }

  /// The newest complete generation's path, or nil.
  public static func newest(under root: String) -> String? { generations(under: root).last.map { root + "/" + $0 } }

  /// A new generation name for build time `nowMs`: `gen-YYYYMMDDTHHMMSSZ-xxxx` (sortable, unique).
  public static func newName(nowMs: Int64) -> String {
    let date = Date(timeIntervalSince1970: Double(nowMs) / 1000)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
    return "gen-\(formatter.string(from: date))-\(String(repeating: "0", count: 4 - suffix.count))\(suffix)"
  }

  /// Removes all but the newest `keep` generations; returns the removed names.
  @discardableResult
  public static func prune(under root: String, keep: Int) throws -> [String] {
    let all = generations(under: root)
    let remove = all.dropLast(max(0, keep))
    for name in remove { try FileManager.default.removeItem(atPath: root + "/" + name) }
    return Array(remove)
  }
}
