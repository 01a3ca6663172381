import FunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes appended to an anonymous temporary file instead of memory, then read back in order: where a
/// build keeps a large column it only writes out at the end (the item table's strings), so the
/// build's memory does not grow with them. The file is unlinked as soon as it is made, so it
/// disappears when the spool does, whatever happens to the process.
///
/// Appends are buffered by stdio. One owner at a time: a spool moves between threads with the
/// writer that holds it, never used by two at once.
public final class SpoolFile: @unchecked Sendable {
  // @unchecked: the FILE pointer is used by one thread at a time (the owning writer's).
  private let stream: UnsafeMutablePointer<FILE>
  /// Bytes appended so far.
  public private(set) var count = 0
  private var failure: Int32 = 0

  /// A new empty spool in `directory` (default: `$TMPDIR`, else `/tmp`), or nil when no temporary
  /// file can be made there (read-only, missing): callers then keep the bytes in memory. The file
  /// is unlinked at once, so only this spool can reach it.
  public init?(directory: String? = nil) {
    let directory = directory ?? getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    var template = Array((directory + "/funnel-spool-XXXXXX").utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { return nil }
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    guard let stream = fdopen(descriptor, "w+") else {
      close(descriptor)
      return nil
    }
    self.stream = stream
  }

  deinit { fclose(stream) }

  /// stdio's write without its per-call lock where the C library has one: the spool has one owner
  /// at a time, and the item table appends to it several times per item.
  private static func write(_ bytes: UnsafeRawPointer, _ count: Int, _ stream: UnsafeMutablePointer<FILE>) -> Int {
    #if canImport(Glibc)
    fwrite_unlocked(bytes, 1, count, stream)
    #else
    fwrite(bytes, 1, count, stream)
    #endif
  }

  /// Appends `bytes`. O(count). A write error is kept and thrown by `forEachChunk`.
  public func append(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0, failure == 0 else { return }
    if Self.write(bytes.baseAddress!, bytes.count, stream) != bytes.count { failure = errno }
    count += bytes.count
  }

  /// Appends the bytes of `values` in host (little-endian) order.
  public func append<T: BitwiseCopyable>(_ value: T) {
    withUnsafeBytes(of: value) { append($0) }
  }

  /// Calls `body` with the bytes appended so far, in order, in pieces of at most `chunk` bytes.
  /// Throws `.failedPrecondition` naming the error when the temporary file could not be written or read.
  public func forEachChunk(_ chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    if failure == 0, fflush(stream) != 0 { failure = errno }
    guard failure == 0 else { throw FunnelError(.failedPrecondition, "cannot write a temporary file: \(String(cString: strerror(failure)))") }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, chunk), alignment: 64)
    defer { buffer.deallocate() }
    let descriptor = fileno(stream)
    var offset = 0
    while offset < count {
      let wanted = min(buffer.count, count - offset)
      let got = pread(descriptor, buffer.baseAddress!, wanted, off_t(offset))
      guard got > 0 else {
        throw FunnelError(.failedPrecondition, "cannot read a temporary file: \(got < 0 ? String(cString: strerror(errno)) : "it ended early")")
      }
      try body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
      offset += got
    }
  }
}
