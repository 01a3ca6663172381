import Foundation
import FunnelCore
import IndexFormat
import MappedStorage

/// The files of a freshly built generation, in memory: open them in place, or write them to disk.
public struct BuiltGeneration: Sendable {
  public let manifest: GenerationManifest
  /// File name -> bytes, for every name in `IndexGeneration.fileNames`.
  public let images: [String: [UInt8]]

  /// Opens the images in memory (the embedded default and tests use this; no disk involved).
  public func open() throws -> IndexGeneration {
    var regions: [String: ByteRegion] = [:]
    for (name, bytes) in images { regions[name] = ByteRegion(copying: bytes, name: "\(manifest.version)/\(name)") }
    return try IndexGeneration(manifest: manifest, regions: regions, verifyChecksums: false)
  }

  /// Writes the generation as `root/<version>/` atomically: files go to a hidden temporary directory
  /// that is renamed into place, so a reader never sees a half-written generation. Returns its path.
  public func write(under root: String) throws -> String {
    let fm = FileManager.default
    let final = root + "/" + manifest.version
    let temporary = root + "/.tmp-" + manifest.version
    do {
      try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
      guard !fm.fileExists(atPath: final) else {
        throw FunnelError(.failedPrecondition, "\(final) already exists; generations are immutable")
      }
      try? fm.removeItem(atPath: temporary)
      try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
      for (name, bytes) in images { try Data(bytes).write(to: URL(fileURLWithPath: temporary + "/" + name)) }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary + "/manifest.json"))
      try fm.moveItem(atPath: temporary, toPath: final)
    } catch let error as FunnelError {
      throw error
    } catch {
      try? fm.removeItem(atPath: temporary)
      throw FunnelError(.failedPrecondition, "cannot write generation under \(root): \(error.localizedDescription)")
    }
    return final
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
