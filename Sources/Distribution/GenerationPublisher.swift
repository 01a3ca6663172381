import FunnelCore
import Foundation
import IndexFormat

/// Publishes a built generation to a shared directory: verified first (every file's size and
/// CRC-32C against its manifest), copied to `DEST/.tmp-VERSION`, then renamed to `DEST/VERSION` in
/// one step, so a reader sees the whole generation or none of it. Publishing the same generation
/// again is a no-op; a different one under the same name is refused (generations are immutable).
/// Blocking file I/O: call off the cooperative pool. Thread-safe (no state).
public enum GenerationPublisher {
  /// Publishes the generation at `source` into directory `destination`; returns its manifest.
  public static func publish(generation source: String, to destination: String) throws -> GenerationManifest {
    let generation = try IndexGeneration.open(directory: source, verifyChecksums: true)
    let manifest = generation.manifest
    guard GenerationLocation.isSafeName(manifest.version) else {
      throw FunnelError(.invalidArgument, "\(source): generation name '\(manifest.version)' is not a safe name")
    }
    let fm = FileManager.default
    let final = destination + "/" + manifest.version
    if fm.fileExists(atPath: final + "/manifest.json") {
      let existing = try IndexGeneration.open(directory: final, verifyChecksums: false).manifest
      guard existing == manifest else {
        throw FunnelError(.failedPrecondition, "\(final) holds a different generation of the same name; generations are immutable")
      }
      return manifest
    }
    let temporary = destination + "/.tmp-" + manifest.version
    do {
      try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
      try? fm.removeItem(atPath: temporary)
      try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
      // The manifest last: a reader polling the temporary directory never sees a complete-looking one.
      for entry in manifest.files { try fm.copyItem(atPath: source + "/" + entry.name, toPath: temporary + "/" + entry.name) }
      try fm.copyItem(atPath: source + "/manifest.json", toPath: temporary + "/manifest.json")
      try fm.moveItem(atPath: temporary, toPath: final)
    } catch {
      try? fm.removeItem(atPath: temporary)
      throw FunnelError(.failedPrecondition, "publishing \(manifest.version) to \(destination): \(error.localizedDescription)")
    }
    return manifest
  }
}
