import Foundation
import FunnelCore

/// Reads RFC 4180 CSV: fields separated by commas, optionally in double quotes (a quote inside a
/// quoted field is doubled; quoted fields may hold commas and line breaks), records ended by LF or
/// CRLF. Plain `.csv` or gzip-compressed `.gz` input (decompressed by the system's `gzip`).
///
/// Not thread-safe; reads the whole (decompressed) file into memory: the data sets it serves are
/// tens of megabytes.
public struct CSVReader {
  /// Field names of the header record (trimmed).
  public private(set) var header: [String] = []
  private let bytes: [UInt8]
  private var position = 0
  /// 1-based line number where the next record starts (the header is line 1).
  public private(set) var line = 1
  /// The file's name, for messages.
  public let path: String

  /// Opens `path` and reads its header. Throws `.notFound` if it cannot be read, `.invalidArgument`
  /// if it is empty.
  public init(path: String) throws {
    try self.init(bytes: try CompressedFile.read(path: path), name: path)
  }

  /// A reader over CSV bytes held in memory; `name` appears in messages.
  public init(bytes: [UInt8], name: String) throws {
    path = name
    self.bytes = bytes
    guard let first = try nextRecord() else { throw FunnelError(.invalidArgument, "\(name): empty file, no header") }
    header = first.map { $0.trimmingCharacters(in: .whitespaces) }
  }

  /// The column number of the first header name in `names` that exists. Throws naming the file.
  public func column(_ names: String...) throws -> Int {
    for name in names { if let i = header.firstIndex(of: name) { return i } }
    throw FunnelError(.invalidArgument, "\(path): no column \(names.joined(separator: " or ")) in the header \(header)")
  }

  /// The next record, or nil at the end. Blank lines are skipped. Throws `.invalidArgument` naming
  /// the line for a quoted field that never ends.
  public mutating func nextRecord() throws -> [String]? {
    while position < bytes.count {
      if bytes[position] == 0x0A { position += 1; line += 1; continue }
      if bytes[position] == 0x0D, position + 1 < bytes.count, bytes[position + 1] == 0x0A { position += 2; line += 1; continue }
      break
    }
    guard position < bytes.count else { return nil }
    let startLine = line
    var fields: [String] = []
    var field: [UInt8] = []
    while true {
      if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
        position += 1
        while true {
          guard position < bytes.count else {
            throw FunnelError(.invalidArgument, "\(path):\(startLine): a quoted field never ends")
          }
          let b = bytes[position]
          position += 1
          if b == UInt8(ascii: "\"") {
            if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
              field.append(b)
              position += 1
            } else {
              break
            }
          } else {
            if b == 0x0A { line += 1 }
            field.append(b)
          }
        }
      }
      // Text after a closing quote, or a stray quote in an unquoted field, is kept as it is
      // (lenient, as spreadsheet exports need).
      while position < bytes.count, bytes[position] != UInt8(ascii: ","), bytes[position] != 0x0A {
        field.append(bytes[position])
        position += 1
      }
      if field.last == 0x0D, position >= bytes.count || bytes[position] == 0x0A { field.removeLast() }
      fields.append(String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
      if position >= bytes.count { break }
      let separator = bytes[position]
      position += 1
      if separator == 0x0A {
        line += 1
        break
      }
    }
    return fields
  }
}

/// Reads a whole file, decompressing `.gz` files through the system's `gzip -dc`.
public enum CompressedFile {
  /// The bytes of `path` (decompressed when it ends in `.gz`). Throws `.notFound` naming the path.
  public static func read(path: String) throws -> [UInt8] {
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw FunnelError(.notFound, "cannot read \(path)")
    }
    guard path.hasSuffix(".gz") else {
      do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
        throw FunnelError(.notFound, "cannot read \(path): \(error.localizedDescription)")
      }
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-dc", path]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch {
      throw FunnelError(.failedPrecondition, "cannot run gzip to read \(path): \(error.localizedDescription)")
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw FunnelError(.invalidArgument, "\(path): not a valid gzip file (gzip exited with \(process.terminationStatus))")
    }
    return [UInt8](data)
  }
}
