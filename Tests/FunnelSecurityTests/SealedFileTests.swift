import Crypto
import Foundation
import FunnelSecurity
import Testing

/// Sealed exports: a round trip of several chunks, and every tampering refused with nothing written.
@Suite struct SealedFileTests {
  @Test func aSealedFileOpensWithItsKeyOnlyAndTamperingIsRefused() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-sealed-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let keyFile = directory + "/key", otherKeyFile = directory + "/other"
    try SealedFile.newKey().write(toFile: keyFile, atomically: true, encoding: .utf8)
    try SealedFile.newKey().write(toFile: otherKeyFile, atomically: true, encoding: .utf8)
    let key = try SealedFile.key(fromFile: keyFile), other = try SealedFile.key(fromFile: otherKeyFile)
    // Two and a half chunks of rows naming users.
    var plain = Data()
    var i = 0
    while plain.count < (5 << 20) / 2 { plain.append(Data("{\"user_id\":\"U-\(i)\",\"item_id\":\"SKU-\(i % 977)\"}\n".utf8)); i += 1 }
    try plain.write(to: URL(fileURLWithPath: directory + "/rows.jsonl"))
    try SealedFile.seal(directory + "/rows.jsonl", to: directory + "/rows.sealed", key: key)
    let sealed = try Data(contentsOf: URL(fileURLWithPath: directory + "/rows.sealed"))
    #expect(sealed.range(of: Data(#"{"user_id":"U-1234","#.utf8)) == nil, "no plaintext in the sealed file")
    let mode = try FileManager.default.attributesOfItem(atPath: directory + "/rows.sealed")[.posixPermissions] as? Int
    #expect(mode == 0o600)
    try SealedFile.open(directory + "/rows.sealed", to: directory + "/opened.jsonl", key: key)
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/opened.jsonl")) == plain)

    func refused(_ bytes: Data, key: SymmetricKey = key) -> Bool {
      let path = directory + "/tampered", out = directory + "/tampered.out"
      try? bytes.write(to: URL(fileURLWithPath: path))
      do {
        try SealedFile.open(path, to: out, key: key)
        return false
      } catch {
        return !FileManager.default.fileExists(atPath: out)
      }
    }
    #expect(refused(sealed, key: other), "another key")
    var flipped = sealed
    flipped[sealed.count / 2] ^= 1
    #expect(refused(flipped), "a changed byte")
    #expect(refused(sealed.prefix(sealed.count - 1000)), "cut inside the last chunk")
    // Cut at a chunk boundary: the first chunk alone opens by itself but is not marked last.
    let firstChunkEnd = 19 + 4 + Int(sealed[19..<23].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    #expect(refused(sealed.prefix(firstChunkEnd)), "cut after a whole chunk")
    #expect(refused(Data("not sealed".utf8)))
  }
}
