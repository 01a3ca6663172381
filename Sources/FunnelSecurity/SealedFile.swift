import Crypto
import Foundation

/// Files with personal data (exports, batch answers) sealed with AES-256-GCM (swift-crypto), in
/// chunks so a file of any size streams through a bounded buffer:
///
///     "FUNNEL-AES256GCM-1\n"
///     per chunk: length (UInt32, big-endian, of what follows) | 12-byte nonce | ciphertext | 16-byte tag
///
/// Each chunk's additional authenticated data is its index and whether it is the last, so chunks
/// cannot be reordered, dropped or the file cut short without `open` failing. Nonces are random.
/// Keys are 32 bytes, stored as 64 hex digits in a file (`funnel auth new-encryption-key`).
public enum SealedFile {
  static let magic = Array("FUNNEL-AES256GCM-1\n".utf8)
  /// Plaintext bytes per chunk.
  static let chunkBytes = 1 << 20

  /// Why a file cannot be sealed or opened.
  public struct Failure: Error, CustomStringConvertible, Sendable {
    public let description: String
  }

  /// The key in `path`: 64 hex digits (whitespace around them ignored).
  public static func key(fromFile path: String) throws(Failure) -> SymmetricKey {
    guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot read the key") }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let bytes = Hex.decode(text), bytes.count == 32 else {
      throw Failure(description: "\(path): the key must be 64 hex digits (32 bytes; funnel auth new-encryption-key makes one)")
    }
    return SymmetricKey(data: bytes)
  }

  /// A new random key as 64 hex digits.
  public static func newKey() -> String {
    SymmetricKey(size: .bits256).withUnsafeBytes { Hex.encode($0) }
  }

  /// Seals the file at `source` into `destination` (created 0600, replaced if present).
  public static func seal(_ source: String, to destination: String, key: SymmetricKey) throws {
    guard let input = FileHandle(forReadingAtPath: source) else { throw Failure(description: "\(source): cannot read") }
    defer { try? input.close() }
    let output = try create(destination)
    defer { try? output.close() }
    try output.write(contentsOf: magic)
    var index: UInt64 = 0
    var chunk = try input.read(upToCount: chunkBytes) ?? Data()
    while true {
      let next = try input.read(upToCount: chunkBytes) ?? Data()
      let last = next.isEmpty
      let box = try AES.GCM.seal(chunk, using: key, authenticating: aad(index, last: last))
      var frame = Data()
      let length = UInt32(12 + box.ciphertext.count + 16)
      frame.append(contentsOf: withUnsafeBytes(of: length.bigEndian, Array.init))
      frame.append(contentsOf: box.nonce)
      frame.append(box.ciphertext)
      frame.append(box.tag)
      try output.write(contentsOf: frame)
      if last { break }
      chunk = next
      index += 1
    }
  }

  /// Opens the sealed file at `source` into `destination` (created 0600). Throws, leaving no output,
  /// when the key is wrong or the file was changed, reordered or cut short.
  public static func open(_ source: String, to destination: String, key: SymmetricKey) throws {
    guard let input = FileHandle(forReadingAtPath: source) else { throw Failure(description: "\(source): cannot read") }
    defer { try? input.close() }
    guard try input.read(upToCount: magic.count).map(Array.init) == magic else {
      throw Failure(description: "\(source): not a sealed Funnel file")
    }
    let output = try create(destination)
    var complete = false
    do {
      defer { try? output.close() }
      var index: UInt64 = 0
      while let head = try input.read(upToCount: 4), !head.isEmpty {
        guard head.count == 4, !complete else { throw Failure(description: "\(source): data after the last chunk") }
        let length = Int(head.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard (28...(chunkBytes + 28)).contains(length), let body = try input.read(upToCount: length), body.count == length else {
          throw Failure(description: "\(source): chunk \(index) is cut short")
        }
        let nonce = try AES.GCM.Nonce(data: body.prefix(12))
        let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: body.dropFirst(12).dropLast(16), tag: body.suffix(16))
        let plain: Data
        if let p = try? AES.GCM.open(box, using: key, authenticating: aad(index, last: false)) {
          plain = p
        } else if let p = try? AES.GCM.open(box, using: key, authenticating: aad(index, last: true)) {
          plain = p
          complete = true
        } else {
          throw Failure(description: "\(source): chunk \(index) does not open (a wrong key, or the file was changed)")
        }
        try output.write(contentsOf: plain)
        index += 1
      }
      guard complete else { throw Failure(description: "\(source): the file is cut short (no last chunk)") }
    } catch {
      try? FileManager.default.removeItem(atPath: destination)
      throw error
    }
  }

  private static func aad(_ index: UInt64, last: Bool) -> Data {
    Data(withUnsafeBytes(of: index.bigEndian, Array.init) + [last ? 1 : 0])
  }

  private static func create(_ path: String) throws -> FileHandle {
    try? FileManager.default.removeItem(atPath: path)
    guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
          let handle = FileHandle(forWritingAtPath: path) else {
      throw Failure(description: "\(path): cannot create")
    }
    return handle
  }
}
