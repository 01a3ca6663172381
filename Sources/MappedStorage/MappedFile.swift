import FunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. The only place in Funnel that calls `mmap`.
///
/// The mapping lives as long as this object; every read is bounds-checked and goes through a
/// closure so no pointer escapes. Immutable after `init`, so it is safe to share across threads.
public final class MappedFile: @unchecked Sendable {
  /// The path the file was opened from (for error messages).
  public let path: String
  /// The file size in bytes at the time of mapping.
  public let count: Int
  private let base: UnsafeRawPointer?

  /// Maps `path` read-only. Throws `FunnelError.notFound` if it does not exist and
  /// `.failedPrecondition` if it cannot be opened or mapped, naming the path and the OS error.
  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let code = errno
      throw FunnelError(code == ENOENT ? .notFound : .failedPrecondition,
                        "cannot open \(path): \(String(cString: strerror(code)))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw FunnelError(.failedPrecondition, "cannot stat \(path): \(String(cString: strerror(errno)))")
    }
    count = Int(info.st_size)
    if count == 0 {
      base = nil
      return
    }
    let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let mapped, mapped != MAP_FAILED else {
      throw FunnelError(.failedPrecondition, "cannot map \(path): \(String(cString: strerror(errno)))")
    }
    base = UnsafeRawPointer(mapped)
  }

  deinit {
    if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
  }

  /// Calls `body` with the bytes `offset ..< offset + length`. Throws `.failedPrecondition` naming the
  /// file when the range falls outside it (a truncated or corrupt file). The buffer must not escape.
  public func withBytes<T>(offset: Int, length: Int,
                           _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
    guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
      throw FunnelError(.failedPrecondition,
                        "\(path): range \(offset)..<\(offset &+ length) is outside the file (\(count) bytes)")
    }
    guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return try body(UnsafeRawBufferPointer(start: base + offset, count: length))
  }

  /// Reads a little-endian fixed-width integer at `offset`, bounds-checked.
  public func readInteger<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) throws -> T {
    try withBytes(offset: offset, length: MemoryLayout<T>.size) { T(littleEndian: $0.loadUnaligned(as: T.self)) }
  }
}
