/// The life of one stream's call as the server sees it: whether the client has finished sending and
/// how far the response has gone. It changes only through the transitions below, each of which says
/// whether the event fitted the state; an event that does not (a second END_STREAM, response headers
/// after the status) changes nothing, so a confused or hostile peer cannot make the server write on a
/// closed stream. Pure value; `WireStreamState` holds one per stream.
///
///     open --client END_STREAM--> halfClosed
///     open / halfClosed --first response message--> responding(clientDone:)
///     any but closed --status written, stream reset, deadline--> closed
enum WireStreamLifecycle: Hashable, Sendable {
  /// The client is still sending; nothing of the response has been written.
  case open
  /// The client has sent END_STREAM; nothing of the response has been written.
  case halfClosed
  /// The response headers (and messages) are written, the status not yet.
  case responding(clientDone: Bool)
  /// The status is written or the stream was reset: nothing more is written on it.
  case closed

  /// The client sent END_STREAM. False (no change) when it had already, or the call is over.
  @discardableResult
  mutating func clientFinished() -> Bool {
    switch self {
    case .open: self = .halfClosed
    case .responding(clientDone: false): self = .responding(clientDone: true)
    case .halfClosed, .responding(clientDone: true), .closed: return false
    }
    return true
  }

  /// The response headers go out before the first message. False (no change) when they already
  /// went, or the call is over: the caller must not write them.
  @discardableResult
  mutating func headersWritten() -> Bool {
    switch self {
    case .open: self = .responding(clientDone: false)
    case .halfClosed: self = .responding(clientDone: true)
    case .responding, .closed: return false
    }
    return true
  }

  /// The status was written, or the stream was reset or timed out. False (no change) when it was
  /// over already: the caller must not write a second status.
  @discardableResult
  mutating func close() -> Bool {
    guard self != .closed else { return false }
    self = .closed
    return true
  }

  /// The client has sent END_STREAM (or the call is over, when nothing more is read).
  var clientDone: Bool {
    switch self {
    case .open, .responding(clientDone: false): false
    case .halfClosed, .responding(clientDone: true), .closed: true
    }
  }

  /// The response headers are out (a later status goes in trailers, not a trailers-only response).
  var headersSent: Bool {
    if case .responding = self { return true }
    return false
  }

  /// The status is out or the stream is gone: nothing more may be written.
  var isClosed: Bool { self == .closed }
}
