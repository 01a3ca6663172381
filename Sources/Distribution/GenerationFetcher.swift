import AsyncHTTPClient
import FunnelCore
import Foundation
import IndexFormat
import NIOCore
import NIOPosix

/// Copies a published generation from a `GenerationLocation` into a replica's local generation
/// directory and verifies it: the manifest is read first (at most `maxManifestBytes`, its file
/// names checked to be plain names), then every file it lists is fetched into
/// `ROOT/.incoming-VERSION/`, checked against the manifest's size while it streams (a longer file
/// is cut off, not stored) and against its CRC-32C when complete, then the directory is renamed to
/// `ROOT/VERSION` (the manifest written last, so a half-fetched generation never looks complete).
/// A failure removes what was fetched and throws naming the file and the mismatch: the replica
/// keeps serving what it has. Blocking file I/O runs on NIO's thread pool. Thread-safe.
public struct GenerationFetcher: Sendable {
  /// Largest manifest accepted, bytes.
  public static let maxManifestBytes = 4 << 20
  /// Most files a manifest may list.
  public static let maxFiles = 1_000

  let client: HTTPClient
  let timeout: TimeAmount

  /// A fetcher using `client` for HTTP locations (each request bounded by `timeout`).
  public init(client: HTTPClient = .shared, timeout: TimeAmount = .seconds(300)) {
    self.client = client
    self.timeout = timeout
  }

  /// Fetches and verifies generation `version` from `location` into `root`; returns its local
  /// path. Already present (with a manifest): returned as is.
  public func fetch(version: String, from location: GenerationLocation, into root: String) async throws -> String {
    guard GenerationLocation.isSafeName(version) else {
      throw FunnelError(.invalidArgument, "announced generation '\(version.prefix(140))' is not a safe name")
    }
    let final = root + "/" + version
    if FileManager.default.fileExists(atPath: final + "/manifest.json") { return final }
    let incoming = root + "/.incoming-" + version
    try await blocking {
      try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
      try? FileManager.default.removeItem(atPath: incoming)
      try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: false)
    }
    do {
      let manifestBytes = try await read(location, version + "/manifest.json", limit: Self.maxManifestBytes)
      let manifest: GenerationManifest
      do {
        manifest = try JSONDecoder().decode(GenerationManifest.self, from: Data(manifestBytes))
      } catch {
        throw FunnelError(.failedPrecondition, "\(location)/\(version)/manifest.json: not a generation manifest (\(error))")
      }
      guard manifest.version == version else {
        throw FunnelError(.failedPrecondition, "\(location)/\(version)/manifest.json names generation '\(manifest.version)'")
      }
      guard manifest.files.count <= Self.maxFiles,
            manifest.files.allSatisfy({ GenerationLocation.isSafeName($0.name) && $0.name != "manifest.json" && $0.bytes >= 0 }) else {
        throw FunnelError(.failedPrecondition, "\(location)/\(version)/manifest.json lists a file that is not a plain name")
      }
      for entry in manifest.files {
        try await copy(location, version + "/" + entry.name, to: incoming + "/" + entry.name, expect: entry)
      }
      try await blocking {
        try Data(manifestBytes).write(to: URL(fileURLWithPath: incoming + "/manifest.json"))
        try FileManager.default.moveItem(atPath: incoming, toPath: final)
      }
      return final
    } catch {
      try? await blocking { try? FileManager.default.removeItem(atPath: incoming) }
      throw error
    }
  }

  /// Removes generations under `root` other than the newest `keep` and those in `protected`
  /// (the one serving), and any incomplete fetch; returns the names removed.
  public static func prune(_ root: String, keep: Int, protected: Set<String>) throws -> [String] {
    let fm = FileManager.default
    let names = (try? fm.contentsOfDirectory(atPath: root)) ?? []
    let complete = names.filter { !$0.hasPrefix(".") && fm.fileExists(atPath: root + "/" + $0 + "/manifest.json") }.sorted()
    let doomed = complete.dropLast(max(0, keep)).filter { !protected.contains($0) }
    for name in doomed { try fm.removeItem(atPath: root + "/" + name) }
    return Array(doomed)
  }

  private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
  }

  /// The whole of a small object (the manifest), at most `limit` bytes.
  private func read(_ location: GenerationLocation, _ path: String, limit: Int) async throws -> [UInt8] {
    switch location {
    case .directory(let directory):
      return try await blocking {
        let file = directory + "/" + path
        guard let handle = FileHandle(forReadingAtPath: file) else {
          throw FunnelError(.notFound, "\(file): cannot be read")
        }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: limit + 1) ?? Data()
        guard data.count <= limit else { throw FunnelError(.failedPrecondition, "\(file): larger than \(limit) bytes") }
        return Array(data)
      }
    case .http(let base):
      let url = base.appendingPathComponent(path).absoluteString
      let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
      guard response.status == .ok else { throw FunnelError(.notFound, "GET \(url): \(response.status)") }
      var body = try await response.body.collect(upTo: limit)
      return body.readBytes(length: body.readableBytes) ?? []
    }
  }

  /// Copies one file into `target`, checking its size (while it streams) and CRC-32C.
  private func copy(_ location: GenerationLocation, _ path: String, to target: String,
                    expect entry: GenerationManifest.FileEntry) async throws {
    let (bytes, crc): (Int, UInt32)
    switch location {
    case .directory(let directory):
      (bytes, crc) = try await blocking {
        let source = directory + "/" + path
        guard let input = FileHandle(forReadingAtPath: source) else { throw FunnelError(.notFound, "\(source): cannot be read") }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: target, contents: nil), let output = FileHandle(forWritingAtPath: target) else {
          throw FunnelError(.failedPrecondition, "\(target): cannot be written")
        }
        defer { try? output.close() }
        var (total, crc) = (0, UInt32(0))
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
          total += chunk.count
          guard total <= entry.bytes else { break }
          crc = chunk.withUnsafeBytes { CRC32C.checksum($0, seed: crc) }
          try output.write(contentsOf: chunk)
        }
        return (total, crc)
      }
    case .http(let base):
      let url = base.appendingPathComponent(path).absoluteString
      let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
      guard response.status == .ok else { throw FunnelError(.notFound, "GET \(url): \(response.status)") }
      let output = try await blocking { () -> FileHandle in
        guard FileManager.default.createFile(atPath: target, contents: nil), let output = FileHandle(forWritingAtPath: target) else {
          throw FunnelError(.failedPrecondition, "\(target): cannot be written")
        }
        return output
      }
      defer { try? output.close() }
      var (total, checksum) = (0, UInt32(0))
      var pending = ByteBuffer()
      for try await var chunk in response.body {
        total += chunk.readableBytes
        guard total <= entry.bytes else { break }
        checksum = chunk.withUnsafeReadableBytes { CRC32C.checksum($0, seed: checksum) }
        pending.writeBuffer(&chunk)
        if pending.readableBytes >= 4 << 20 {
          let data = Data(pending.readableBytesView)
          pending.clear()
          try await blocking { try output.write(contentsOf: data) }
        }
      }
      if pending.readableBytes > 0 {
        let data = Data(pending.readableBytesView)
        try await blocking { try output.write(contentsOf: data) }
      }
      (bytes, crc) = (total, checksum)
    }
    guard bytes == entry.bytes else {
      throw FunnelError(.failedPrecondition, "\(location)/\(path): \(bytes > entry.bytes ? "more than" : "") \(bytes) bytes, the manifest says \(entry.bytes)")
    }
    guard crc == entry.crc32c else {
      throw FunnelError(.failedPrecondition, "\(location)/\(path): CRC-32C \(crc), the manifest says \(entry.crc32c)")
    }
  }
}
