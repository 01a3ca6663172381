import Foundation
import FunnelCore

/// Reads user ids from a CSV (first column; a `user_id` header is skipped) or JSON-lines file
/// (`user_id` or `id`), a line at a time through a fixed buffer: memory stays bounded for any size.
/// Not thread-safe.
public final class UserFile {
  private let handle: FileHandle
  private let jsonLines: Bool
  private var buffer: [UInt8] = []
  private var position = 0
  private var finished = false
  /// Lines read so far (1-based number of the last one).
  public private(set) var line = 0
  public let path: String

  /// Opens `path`; JSON lines when it ends in `.jsonl` or `.json`, else CSV.
  public init(path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw FunnelError(.notFound, "\(path): cannot open the users file")
    }
    self.handle = handle
    self.path = path
    self.jsonLines = path.hasSuffix(".jsonl") || path.hasSuffix(".json")
  }

  deinit { try? handle.close() }

  /// The next user id, or nil at the end. Throws for a malformed line, naming file and line.
  public func next() throws -> String? {
    while let raw = readLine() {
      let text = raw.trimmingCharacters(in: .whitespaces)
      if text.isEmpty { continue }
      if jsonLines {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let id = (object["user_id"] ?? object["id"]) as? String, !id.isEmpty else {
          throw FunnelError(.invalidArgument, "\(path):\(line): expected an object with a 'user_id' string")
        }
        return id
      }
      let first = String(text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)[0])
        .trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
      if line == 1 && first.lowercased() == "user_id" { continue }
      guard !first.isEmpty else { throw FunnelError(.invalidArgument, "\(path):\(line): the first column (user id) is empty") }
      return first
    }
    return nil
  }

  private func readLine() -> String? {
    while true {
      if let newline = buffer[position...].firstIndex(of: 0x0A) {
        let bytes = buffer[position..<newline]
        position = newline + 1
        line += 1
        return String(decoding: bytes.last == 0x0D ? bytes.dropLast() : bytes, as: UTF8.self)
      }
      if finished {
        guard position < buffer.count else { return nil }
        let rest = buffer[position...]
        position = buffer.count
        line += 1
        return String(decoding: rest, as: UTF8.self)
      }
      buffer.removeFirst(position)
      position = 0
      let chunk = handle.readData(ofLength: 1 << 16)
      if chunk.isEmpty { finished = true } else { buffer += chunk }
    }
  }
}

extension UserFile {
  /// Users in `path` (for progress and ETA): its lines, less a CSV `user_id` header, counting a last
  /// line without a newline; counted through a fixed buffer. O(file size).
  public static func countLines(_ path: String) -> Int {
    guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
    defer { try? handle.close() }
    var lines = 0
    var first: [UInt8] = []
    var last: UInt8 = 0x0A
    while true {
      let chunk = handle.readData(ofLength: 1 << 20)
      if chunk.isEmpty { break }
      if lines == 0 && first.count < 64 { first += chunk.prefix(64 - first.count) }
      lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
      last = chunk.last ?? last
    }
    if last != 0x0A { lines += 1 }
    let head = String(decoding: first.prefix { $0 != 0x0A && $0 != 0x0D && $0 != UInt8(ascii: ",") }, as: UTF8.self)
    return head.trimmingCharacters(in: .whitespaces).lowercased() == "user_id" ? lines - 1 : lines
  }
}
