import FunnelCore
internal import CMongoC
import NIOPosix
import Synchronization

/// A MongoDB failure, naming the server or command and the driver's message.
public struct MongoError: StoreFailure, Hashable {
  public let message: String
  /// Always `mongodb`.
  public var store: String { "mongodb" }
  /// Creates an error.
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// An async MongoDB client over libmongoc's thread-safe `mongoc_client_pool_t`. Every blocking
/// driver call runs on a `NIOThreadPool`, never on Swift's cooperative pool: by default one of the
/// client's own, so a slow MongoDB (or a long snapshot cursor) holds only its own threads and never
/// delays another store's calls (a bulkhead). C documents are
/// converted to Swift values (relaxed extended JSON) before they are freed.
///
/// Thread-safe.
public final class MongoClient: @unchecked Sendable {
  // @unchecked: the pool pointer is immutable after init and mongoc_client_pool_t is thread-safe.
  private let pool: OpaquePointer
  private let uri: OpaquePointer
  private let threadPool: NIOThreadPool
  /// Whether `threadPool` was started by this client (and is shut down with it).
  private let ownsThreadPool: Bool
  /// The connection string, as given.
  public let uriString: String

  private static let initialised: Void = {
    mongoc_init()
    // The driver logs every failed server check at DEBUG to stderr; keep warnings and worse only.
    mongoc_log_set_handler({ level, domain, message, _ in
      guard level.rawValue <= MONGOC_LOG_LEVEL_WARNING.rawValue, let message else { return }
      let line = "mongoc \(domain.map { String(cString: $0) } ?? ""): \(String(cString: message))\n"
      _ = line.withCString { write(2, $0, strlen($0)) }
    }, nil)
  }()
  /// sizeof(bson_t) on every platform libbson supports (the struct is padded to 128 bytes).
  private static let bsonSize = 128

  /// Parses `uri` (e.g. `mongodb://127.0.0.1:27017/?directConnection=true`) and creates a pool.
  /// Connects lazily. `threadPool`: where the blocking driver calls run; nil (the default) starts
  /// one of the client's own with `threads` threads (at most that many calls at once), shut down
  /// when the client goes. Throws `MongoError` for a malformed URI.
  public init(uri uriString: String, threadPool: NIOThreadPool? = nil, threads: Int = 4) throws {
    _ = Self.initialised
    self.uriString = uriString
    if let threadPool {
      self.threadPool = threadPool
      self.ownsThreadPool = false
    } else {
      self.threadPool = NIOThreadPool(numberOfThreads: max(1, threads))
      self.ownsThreadPool = true
    }
    let error = UnsafeMutablePointer<bson_error_t>.allocate(capacity: 1)
    defer { error.deallocate() }
    guard let uri = mongoc_uri_new_with_error(uriString, error) else {
      throw MongoError("mongo URI '\(uriString)': \(String(cString: funnel_bson_error_message(error)))")
    }
    if !mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) {
      mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3_000)
    }
    guard let pool = mongoc_client_pool_new(uri) else {
      mongoc_uri_destroy(uri)
      throw MongoError("mongo URI '\(uriString)': cannot create a client pool")
    }
    mongoc_client_pool_set_error_api(pool, 2)  // MONGOC_ERROR_API_VERSION_2
    mongoc_client_pool_set_appname(pool, "funnel")
    self.uri = uri
    self.pool = pool
    if ownsThreadPool { self.threadPool.start() }
  }

  deinit {
    if ownsThreadPool { threadPool.shutdownGracefully { _ in } }
    mongoc_client_pool_destroy(pool)
    mongoc_uri_destroy(uri)
  }

  /// Runs `{ping: 1}` against the `admin` database; returns the server's reply as JSON.
  public func ping() async throws -> String {
    try await runCommand(database: "admin") { bson_append_int32($0, "ping", -1, 1) }
  }

  /// Runs the database command given as (extended) JSON, e.g. `{"count": "items"}`; returns the reply
  /// as relaxed extended JSON. Throws `MongoError` for malformed JSON or a failed command.
  public func command(database: String, json: String) async throws -> String {
    try await runCommand(database: database, json: json)
  }

  /// Runs a database command built by `build` (which appends fields to the command document) and
  /// returns the reply as relaxed extended JSON. Throws `MongoError` with the driver's message.
  func runCommand(database: String, _ build: @escaping @Sendable (OpaquePointer) -> Bool)
    async throws -> String
  {
    try await runCommand(database: database, json: nil, build)
  }

  private func runCommand(database: String, json: String?, _ build: (@Sendable (OpaquePointer) -> Bool)? = nil)
    async throws -> String
  {
    return try await threadPool.runIfActive { [self] in
      guard let client = mongoc_client_pool_pop(pool) else { throw MongoError("\(uriString): no client available") }
      defer { mongoc_client_pool_push(pool, client) }
      let error = UnsafeMutablePointer<bson_error_t>.allocate(capacity: 1)
      defer { error.deallocate() }
      let made: OpaquePointer? = json.map { text in
        text.withCString { bson_new_from_json(UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), -1, error) }
      } ?? bson_new()
      guard let command = made else {
        throw MongoError("\(database): not a valid command document (\(String(cString: funnel_bson_error_message(error))))")
      }
      defer { bson_destroy(command) }
      if let build, !build(command) { throw MongoError("cannot build the command document") }
      // bson_t must be 128-byte aligned; the driver initialises the reply in place (static flag),
      // so bson_destroy frees only its buffer and we free the struct.
      var raw: UnsafeMutableRawPointer?
      guard posix_memalign(&raw, 128, Self.bsonSize) == 0, let raw else {
        throw MongoError("out of memory allocating a reply")
      }
      defer { free(raw) }
      let reply = OpaquePointer(raw)
      let ok = mongoc_client_command_simple(client, database, command, nil, reply, error)
      defer { bson_destroy(reply) }
      guard ok else {
        throw MongoError("\(uriString) \(database): \(String(cString: funnel_bson_error_message(error)))")
      }
      var length = 0
      guard let json = bson_as_relaxed_extended_json(reply, &length) else { return "{}" }
      defer { bson_free(json) }
      return String(cString: json)
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif
