#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP client on loopback, for tests that must act below any HTTP library (an idle
/// connection, raw HTTP/1.1 bytes, a byte sent from inside a task).
public enum LoopbackSocket {
  /// Could not open or connect the socket.
  public struct Failure: Error {
    public let errno: Int32
  }

  /// A connected socket to 127.0.0.1:`port`; the caller closes it.
  public static func connect(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(errno: errno) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
      let failure = Failure(errno: errno)
      close(fd)
      throw failure
    }
    return fd
  }
}
