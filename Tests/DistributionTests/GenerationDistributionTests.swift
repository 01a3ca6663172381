import Distribution
import Foundation
import FunnelCore
import FunnelTestSupport
import IndexBuilder
import IndexFormat
import Testing

/// Publishing to a shared directory and fetching from it, directly and over HTTP (a real static
/// web server, Python's, on loopback): what arrives is verified file by file, and a corrupted,
/// oversized or path-escaping generation is refused with nothing left behind.
@Suite struct GenerationDistributionTests {
  static func scratch(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-dist-\(name)-\(UInt64.random(in: 0...UInt64.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  static func built(_ version: String, under root: String) throws -> String {
    try GenerationBuilder().build(items: TestEngines.store.items, events: TestEngines.store.events, nowMs: TestEngines.nowMs,
                                  version: version).write(under: root)
  }

  /// Everything under `root` (files and directories), relative.
  static func listing(_ root: String) -> [String] {
    (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
  }

  @Test func publishesOnceAndFetchesAVerifiedCopy() async throws {
    let (build, shared, local) = (try Self.scratch("build"), try Self.scratch("shared"), try Self.scratch("local"))
    defer { for d in [build, shared, local] { try? FileManager.default.removeItem(atPath: d) } }
    let path = try Self.built("gen-20261206T000000Z-aaaa", under: build)
    let manifest = try GenerationPublisher.publish(generation: path, to: shared)
    #expect(try GenerationPublisher.publish(generation: path, to: shared) == manifest, "publishing again is a no-op")
    #expect(!Self.listing(shared).contains { $0.hasPrefix(".tmp") })
    let fetched = try await GenerationFetcher().fetch(version: manifest.version, from: .directory(shared), into: local)
    let generation = try IndexGeneration.open(directory: fetched, verifyChecksums: true)
    #expect(generation.manifest == manifest && generation.itemCount == TestEngines.store.items.count)
    #expect(Self.listing(local).allSatisfy { !$0.hasPrefix(".incoming") })
  }

  @Test func aCorruptedFileIsRefusedAndNothingStays() async throws {
    let (build, shared, local) = (try Self.scratch("build"), try Self.scratch("shared"), try Self.scratch("local"))
    defer { for d in [build, shared, local] { try? FileManager.default.removeItem(atPath: d) } }
    let manifest = try GenerationPublisher.publish(generation: try Self.built("gen-b", under: build), to: shared)
    // Flip one byte in the middle of the largest file, as a bad disk or a proxy might.
    let victim = try #require(manifest.files.max { $0.bytes < $1.bytes })
    let file = shared + "/gen-b/" + victim.name
    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[bytes.count / 2] ^= 0x40
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    let error = await #expect(throws: FunnelError.self) {
      _ = try await GenerationFetcher().fetch(version: "gen-b", from: .directory(shared), into: local)
    }
    #expect(error?.message.contains(victim.name) == true && error?.message.contains("CRC-32C") == true, "\(error?.message ?? "")")
    #expect(Self.listing(local).isEmpty, "nothing of a refused generation stays: \(Self.listing(local))")
    // A longer file is cut off at the manifest's size, then refused.
    try Data(bytes + [1, 2, 3]).write(to: URL(fileURLWithPath: file))
    await #expect(throws: FunnelError.self) {
      _ = try await GenerationFetcher().fetch(version: "gen-b", from: .directory(shared), into: local)
    }
  }

  @Test(arguments: ["../etc", ".hidden", "a/b", "", String(repeating: "x", count: 200)])
  func unsafeNamesAreRefused(name: String) async throws {
    #expect(!GenerationLocation.isSafeName(name))
    let local = try Self.scratch("local")
    defer { try? FileManager.default.removeItem(atPath: local) }
    await #expect(throws: FunnelError.self) {
      _ = try await GenerationFetcher().fetch(version: name, from: .directory("/tmp"), into: local)
    }
  }

  @Test func aManifestNamingAPathIsRefused() async throws {
    let (build, shared, local) = (try Self.scratch("build"), try Self.scratch("shared"), try Self.scratch("local"))
    defer { for d in [build, shared, local] { try? FileManager.default.removeItem(atPath: d) } }
    let manifest = try GenerationPublisher.publish(generation: try Self.built("gen-c", under: build), to: shared)
    var hostile = manifest
    hostile.files[0].name = "../../escape"
    try JSONEncoder().encode(hostile).write(to: URL(fileURLWithPath: shared + "/gen-c/manifest.json"))
    let error = await #expect(throws: FunnelError.self) {
      _ = try await GenerationFetcher().fetch(version: "gen-c", from: .directory(shared), into: local)
    }
    #expect(error?.message.contains("not a plain name") == true)
    #expect(!FileManager.default.fileExists(atPath: local + "/../escape"))
  }

  @Test func fetchesOverHTTP() async throws {
    let (build, shared, local) = (try Self.scratch("build"), try Self.scratch("shared"), try Self.scratch("local"))
    defer { for d in [build, shared, local] { try? FileManager.default.removeItem(atPath: d) } }
    let manifest = try GenerationPublisher.publish(generation: try Self.built("gen-d", under: build), to: shared)
    let port = LocalRedis.freePort()
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    server.arguments = ["-m", "http.server", "--bind", "127.0.0.1", "--directory", shared, String(port)]
    server.standardOutput = FileHandle.nullDevice
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer { kill(server.processIdentifier, SIGKILL) }
    let location = try GenerationLocation("http://127.0.0.1:\(port)/")
    var fetched: String?
    for _ in 0..<100 where fetched == nil {
      fetched = try? await GenerationFetcher().fetch(version: "gen-d", from: location, into: local)
      if fetched == nil { try await Task.sleep(for: .milliseconds(100)) }
    }
    let path = try #require(fetched, "the HTTP server never served the generation")
    #expect(try IndexGeneration.open(directory: path, verifyChecksums: true).manifest == manifest)
    await #expect(throws: FunnelError.self) {
      _ = try await GenerationFetcher().fetch(version: "gen-missing", from: location, into: local)
    }
  }

  @Test func prunesAllButTheNewestAndTheServing() throws {
    let root = try Self.scratch("prune")
    defer { try? FileManager.default.removeItem(atPath: root) }
    for name in ["gen-1", "gen-2", "gen-3", "gen-4"] {
      try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
      _ = FileManager.default.createFile(atPath: root + "/" + name + "/manifest.json", contents: Data())
    }
    #expect(try GenerationFetcher.prune(root, keep: 2, protected: ["gen-1"]) == ["gen-2"])
    #expect(GenerationDirectory.generations(under: root) == ["gen-1", "gen-3", "gen-4"])
  }

  @Test(arguments: ["relative/path", "ftp://x"]) func locationsMustBeAbsoluteOrHTTP(text: String) {
    #expect(throws: FunnelError.self) { try GenerationLocation(text) }
  }
}

#if canImport(Glibc)
import Glibc
#endif
