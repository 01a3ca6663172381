import FunnelCore

/// A decoded Redis reply, copied out of hiredis memory before it is freed.
public indirect enum RedisReply: Hashable, Sendable {
  case status(String)
  case error(String)
  case integer(Int64)
  /// A bulk string (binary-safe).
  case bulk([UInt8])
  case null
  case array([RedisReply])

  /// The reply as text, for status and bulk replies.
  public var string: String? {
    switch self {
    case .status(let s): s
    case .bulk(let b): String(decoding: b, as: UTF8.self)
    default: nil
    }
  }

  /// The elements, for array replies.
  public var array: [RedisReply]? {
    if case .array(let items) = self { return items }
    return nil
  }
}
