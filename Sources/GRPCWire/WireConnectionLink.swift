import Synchronization

/// One connection as its calls' handlers and guards see it: an identity unique while it is open
/// (`id`), and functions to run once it closes (per-caller connection counts given back). Made by
/// the connection handler, closed when the channel goes inactive. Thread-safe.
public final class WireConnectionLink: Sendable {
  private let pending = Mutex<[@Sendable () -> Void]?>([])

  init() {}

  /// This connection's identity (valid while the link is alive; calls hold it).
  public var id: ObjectIdentifier { ObjectIdentifier(self) }

  /// Runs `body` once when the connection closes, or now if it has closed already.
  public func whenClosed(_ body: @escaping @Sendable () -> Void) {
    let registered = pending.withLock { list -> Bool in
      guard list != nil else { return false }
      list!.append(body)
      return true
    }
    if !registered { body() }
  }

  /// The connection closed: runs what was registered, once.
  func close() {
    let bodies = pending.withLock { list -> [@Sendable () -> Void] in
      defer { list = nil }
      return list ?? []
    }
    for body in bodies { body() }
  }
}
