import FunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes with a stable address: a memory mapping of a whole file (the only place in Funnel
/// that calls `mmap`), or an aligned in-memory copy (generations built in process, tests).
///
/// The bytes live as long as this object; reads are bounds-checked, and typed views (`ScalarView`)
/// keep the region alive. Immutable after `init`, so it is safe to share across threads.
public final class ByteRegion: @unchecked Sendable {
  // @unchecked: the pointer is immutable after init and the bytes are never written.
  /// Where the bytes came from (a path, or a name for in-memory regions), for error messages.
  public let path: String
  /// Size in bytes.
  public let count: Int
  private let base: UnsafeRawPointer?
  private let mapped: Bool

  /// Maps `path` read-only. Throws `FunnelError.notFound` if it does not exist and
  /// `.failedPrecondition` if it cannot be opened or mapped, naming the path and the OS error.
  public init(mapping path: String) throws {
    self.path = path
    self.mapped = true
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
    guard count > 0 else {
      base = nil
      return
    }
    let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let pointer, pointer != MAP_FAILED else {
      throw FunnelError(.failedPrecondition, "cannot map \(path): \(String(cString: strerror(errno)))")
    }
    base = UnsafeRawPointer(pointer)
  }

  /// Copies `bytes` into 64-byte aligned memory named `name`.
  public init(copying bytes: [UInt8], name: String) {
    path = name
    count = bytes.count
    mapped = false
    guard !bytes.isEmpty else {
      base = nil
      return
    }
    let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
    bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    base = UnsafeRawPointer(memory)
  }

  deinit {
    guard let base else { return }
    if mapped {
      munmap(UnsafeMutableRawPointer(mutating: base), count)
    } else {
      UnsafeMutableRawPointer(mutating: base).deallocate()
    }
  }

  /// Calls `body` with the bytes `offset ..< offset + length`. Throws `.failedPrecondition` naming the
  /// file when the range falls outside it (a truncated or corrupt file). The buffer must not escape.
  public func withBytes<T>(offset: Int, length: Int, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
    try checkRange(offset: offset, length: length)
    guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return try body(UnsafeRawBufferPointer(start: base + offset, count: length))
  }

  /// Reads a little-endian fixed-width integer at `offset`, bounds-checked.
  public func readInteger<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) throws -> T {
    try withBytes(offset: offset, length: MemoryLayout<T>.size) { T(littleEndian: $0.loadUnaligned(as: T.self)) }
  }

  /// A typed view of `count` scalars at `offset`. Throws if the range is outside the region or
  /// `offset` is not aligned for `T`.
  public func view<T: BitwiseCopyable>(of type: T.Type, offset: Int, count: Int) throws -> ScalarView<T> {
    let length = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    guard count >= 0, !length.overflow else {
      throw FunnelError(.failedPrecondition, "\(path): \(count) values of \(T.self) do not fit in memory")
    }
    try checkRange(offset: offset, length: length.partialValue)
    guard offset % MemoryLayout<T>.alignment == 0 else {
      throw FunnelError(.failedPrecondition, "\(path): offset \(offset) is not aligned for \(T.self)")
    }
    let start = (base ?? UnsafeRawPointer(bitPattern: MemoryLayout<T>.alignment)!) + offset
    return ScalarView(region: self, pointer: start.assumingMemoryBound(to: T.self), count: count)
  }

  /// The size of a memory page in bytes (what `dropPages` works in).
  public static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

  /// Says the bytes `offset ..< offset + length` will not be read soon (a reader streaming through a
  /// large file once): the whole pages among them leave this process's resident set. They stay in
  /// the page cache, and a later read maps them again, so this never changes what is read. A no-op
  /// for in-memory copies and for ranges outside the region. Thread-safe.
  public func dropPages(offset: Int, length: Int) {
    guard mapped, let base, offset >= 0, length > 0, offset <= count, length <= count - offset else { return }
    let page = Self.pageSize
    let first = (offset + page - 1) / page * page
    let end = (offset + length) / page * page
    guard end > first else { return }
    // MADV_DONTNEED on a private read-only file mapping only unmaps the pages from this process.
    _ = madvise(UnsafeMutableRawPointer(mutating: base + first), end - first, MADV_DONTNEED)
  }

  /// The address of `offset`, for C libraries that read in place (e.g. frozen Roaring bitmaps).
  /// Bounds-checked; valid while this region lives (pass it as the owner).
  public func address(offset: Int, length: Int) throws -> UnsafeRawPointer {
    try checkRange(offset: offset, length: length)
    return (base ?? UnsafeRawPointer(bitPattern: 64)!) + offset
  }

  private func checkRange(offset: Int, length: Int) throws {
    guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
      throw FunnelError(.failedPrecondition,
                        "\(path): range \(offset)..<\(offset &+ length) is outside the file (\(count) bytes)")
    }
  }
}

/// A bounds-checked, read-only array of scalars inside a `ByteRegion`, which it keeps alive.
/// Values are little-endian as written (Funnel runs on little-endian hosts only).
public struct ScalarView<T: BitwiseCopyable>: RandomAccessCollection, @unchecked Sendable {
  // @unchecked: points into immutable memory owned by `region`.
  // Inlinable, with its storage visible to inlined code: reading a view is an index check and a
  // load in the caller's own loop, not a call into this module per element (every index reader and
  // recall channel is another module).
  @usableFromInline let region: ByteRegion
  @usableFromInline let pointer: UnsafePointer<T>
  /// Number of values.
  public let count: Int

  init(region: ByteRegion, pointer: UnsafePointer<T>, count: Int) {
    self.region = region
    self.pointer = pointer
    self.count = count
  }

  @inlinable public var startIndex: Int { 0 }
  @inlinable public var endIndex: Int { count }

  /// The value at `i`. Precondition: `0 <= i < count` (indices derived from file data are
  /// validated when the file is opened).
  @inlinable @inline(__always) public subscript(i: Int) -> T {
    precondition(i >= 0 && i < count, "index \(i) out of range 0..<\(count)")
    return pointer[i]
  }

  /// Calls `body` with the values as a buffer (for tight loops without per-element checks).
  @inlinable @inline(__always)
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
    try withExtendedLifetime(region) { try body(UnsafeBufferPointer(start: pointer, count: count)) }
  }
}
