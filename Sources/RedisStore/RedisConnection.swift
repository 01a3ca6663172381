internal import CHiredis
import Synchronization

/// One blocking hiredis connection. Owns the `redisContext` and frees it in `deinit`.
///
/// Calls block the calling thread (use `RedisClient` to run them off the cooperative pool).
/// Not thread-safe by itself: `RedisClient` serialises access.
final class RedisConnection {
  private let context: UnsafeMutablePointer<redisContext>
  let endpoint: RedisEndpoint

  /// Connects (and authenticates / selects the database if the endpoint says so).
  init(endpoint: RedisEndpoint, timeoutMs: Int) throws {
    self.endpoint = endpoint
    guard let c = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), funnel_timeval_ms(timeoutMs)) else {
      throw RedisError("redis \(endpoint.host):\(endpoint.port): cannot allocate a connection")
    }
    guard funnel_redis_context_error(c) == 0 else {
      let message = String(cString: funnel_redis_context_errstr(c))
      redisFree(c)
      throw RedisError("redis \(endpoint.host):\(endpoint.port): \(message)")
    }
    context = c
    redisSetTimeout(c, funnel_timeval_ms(timeoutMs))
    if let user = endpoint.user {
      try expectOK(try command([Array("AUTH".utf8), Array(user.utf8), Array((endpoint.password ?? "").utf8)]), "AUTH \(user)")
    } else if let password = endpoint.password, !password.isEmpty {
      try expectOK(try command([Array("AUTH".utf8), Array(password.utf8)]), "AUTH")
    }
    if endpoint.database != 0 { try expectOK(try command([Array("SELECT".utf8), Array(String(endpoint.database).utf8)]), "SELECT") }
  }

  deinit { redisFree(context) }

  /// Waits for the next reply pushed by the server (a subscribed connection's messages). Throws on
  /// I/O errors and on the read timeout; the connection is unusable afterwards.
  func readReply() throws -> RedisReply {
    var raw: UnsafeMutableRawPointer?
    guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw ioError("waiting for a message") }
    defer { freeReplyObject(raw) }
    return Self.decode(raw.assumingMemoryBound(to: redisReply.self))
  }

  /// Sends one command and waits for its reply. Throws on I/O errors; Redis error replies are returned
  /// as `.error`.
  func command(_ arguments: [[UInt8]]) throws -> RedisReply {
    try pipeline([arguments])[0]
  }

  /// Sends all commands (binary-safe arguments) in one write and reads their replies in order: one round trip.
  func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
    for arguments in commands { try append(arguments) }
    var replies: [RedisReply] = []
    replies.reserveCapacity(commands.count)
    for _ in commands {
      var raw: UnsafeMutableRawPointer?
      guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw ioError("reading a reply") }
      let reply = raw.assumingMemoryBound(to: redisReply.self)
      replies.append(Self.decode(reply))
      freeReplyObject(raw)
    }
    return replies
  }

  /// `MGET` of keys packed end to end in `keys` (`ends[i]` is where key `i` ends; at least one),
  /// each value handed to `decode` while hiredis still holds it (nil: no such key, or not a
  /// string): one round trip, and no allocation per key or per value beyond what `decode` returns.
  /// Throws on I/O errors and on an error or malformed reply.
  func mget<T>(packedKeys keys: [UInt8], ends: [Int], decode: (UnsafeRawBufferPointer?) -> T) throws -> [T] {
    precondition(!ends.isEmpty && ends.last! <= keys.count, "MGET needs keys inside the buffer")
    let read = try mgetGroups(packedKeys: keys, ends: ends, groups: CollectionOfOne(ends.indices), decode: decode)
    // One server answers a redirection only when it is a cluster node addressed as a lone server.
    guard !read.redirected else {
      throw RedisError("redis \(endpoint.host):\(endpoint.port): MGET redirected: this server is a cluster node (use redis-cluster://)")
    }
    return read.values[0]
  }
  private static let mgetName: [UInt8] = Array("MGET".utf8)

  /// One `MGET` per group of the packed `keys` (as in `mget`; `groups` lists key indices, each
  /// group's keys in one slot), pipelined in one write, each value handed to `decode` in place:
  /// how a cluster reads many slots' keys from one node. A group answered with a redirection
  /// (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`) decodes as nils and sets `redirected`, so the
  /// caller re-reads the slot map and tries again. Throws on I/O errors and on any other error reply.
  func mgetGroups<T, Groups: Collection>(packedKeys keys: [UInt8], ends: [Int], groups: Groups,
                                         decode: (UnsafeRawBufferPointer?) -> T) throws -> (values: [[T]], redirected: Bool)
    where Groups.Element: Collection<Int> {
    var argv: [UnsafePointer<CChar>?] = []
    var lengths: [Int] = []
    let status = keys.withUnsafeBufferPointer { keyBytes -> Int32 in
      Self.mgetName.withUnsafeBufferPointer { name -> Int32 in
        for group in groups {
          argv.removeAll(keepingCapacity: true)
          lengths.removeAll(keepingCapacity: true)
          argv.reserveCapacity(group.count + 1)
          lengths.reserveCapacity(group.count + 1)
          argv.append(UnsafeRawPointer(name.baseAddress!).assumingMemoryBound(to: CChar.self))
          lengths.append(name.count)
          for i in group {
            let start = i == 0 ? 0 : ends[i - 1]
            argv.append(UnsafeRawPointer(keyBytes.baseAddress! + start).assumingMemoryBound(to: CChar.self))
            lengths.append(ends[i] - start)
          }
          // hiredis copies the arguments into its output buffer here.
          let ok = argv.withUnsafeMutableBufferPointer { a in
            lengths.withUnsafeBufferPointer { l in redisAppendCommandArgv(context, Int32(a.count), a.baseAddress, l.baseAddress) }
          }
          if ok != REDIS_OK { return ok }
        }
        return REDIS_OK
      }
    }
    guard status == REDIS_OK else { throw ioError("queueing \(groups.count) MGETs") }
    var values: [[T]] = []
    values.reserveCapacity(groups.count)
    var redirected = false
    for group in groups {
      var raw: UnsafeMutableRawPointer?
      guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw ioError("reading an MGET reply") }
      defer { freeReplyObject(raw) }
      let reply = raw.assumingMemoryBound(to: redisReply.self).pointee
      if reply.type == REDIS_REPLY_ARRAY, Int(reply.elements) == group.count {
        values.append((0..<group.count).map { k in
          guard let element = reply.element[k]?.pointee, element.type == REDIS_REPLY_STRING, let bytes = element.str else {
            return decode(nil)
          }
          return decode(UnsafeRawBufferPointer(start: bytes, count: Int(element.len)))
        })
        continue
      }
      let message = reply.type == REDIS_REPLY_ERROR ? (reply.str.map { String(cString: $0) } ?? "") : "type \(reply.type)"
      guard ["MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN"].contains(where: message.hasPrefix) else {
        throw RedisError("redis \(endpoint.host):\(endpoint.port): MGET of \(group.count) keys: \(message)")
      }
      redirected = true
      values.append(group.map { _ in decode(nil) })
    }
    return (values, redirected)
  }

  private func append(_ arguments: [[UInt8]]) throws {
    let buffers = arguments
    let lengths = buffers.map(\.count)
    var pointers: [UnsafeMutablePointer<CChar>?] = buffers.map { bytes in
      let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, bytes.count))
      bytes.withUnsafeBufferPointer { src in
        src.withMemoryRebound(to: CChar.self) { p.initialize(from: $0.baseAddress!, count: bytes.count) }
      }
      return p
    }
    defer { for p in pointers { p?.deallocate() } }
    let status = pointers.withUnsafeMutableBufferPointer { argv in
      lengths.withUnsafeBufferPointer { lens in
        argv.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: argv.count) { constArgv in
          redisAppendCommandArgv(context, Int32(arguments.count), constArgv, lens.baseAddress)
        }
      }
    }
    _ = pointers.count
    guard status == REDIS_OK else { throw ioError("queueing \(String(decoding: arguments.first ?? [], as: UTF8.self))") }
  }

  private func expectOK(_ reply: RedisReply, _ what: String) throws {
    if case .error(let message) = reply { throw RedisError("redis \(endpoint.host):\(endpoint.port) \(what): \(message)") }
  }

  private func ioError(_ doing: String) -> RedisError {
    RedisError("redis \(endpoint.host):\(endpoint.port): \(doing): \(String(cString: funnel_redis_context_errstr(context)))")
  }

  private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
    // RESP2 only: Debian 12's hiredis 0.14 has no RESP3 reply types.
    let r = reply.pointee
    func text() -> [UInt8] {
      guard let s = r.str, r.len > 0 else { return [] }
      return Array(UnsafeRawBufferPointer(start: s, count: Int(r.len)))
    }
    switch r.type {
    case REDIS_REPLY_STATUS: return .status(String(decoding: text(), as: UTF8.self))
    case REDIS_REPLY_ERROR: return .error(String(decoding: text(), as: UTF8.self))
    case REDIS_REPLY_INTEGER: return .integer(r.integer)
    case REDIS_REPLY_STRING: return .bulk(text())
    case REDIS_REPLY_NIL: return .null
    case REDIS_REPLY_ARRAY:
      var elements: [RedisReply] = []
      for i in 0..<Int(r.elements) {
        if let e = r.element[i] { elements.append(decode(e)) }
      }
      return .array(elements)
    default: return .null
    }
  }
}
