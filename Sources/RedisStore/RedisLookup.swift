import Synchronization

/// Something looked up over the network and kept — a cluster's slot map, the primary the
/// Sentinels name — read again on demand: one read at a time (callers arriving meanwhile join it),
/// and, unless forced, at most once per `minimumIntervalMs` (a burst of failures costs one read).
/// A failed read keeps the last value. Thread-safe.
final class RedisLookup<Value: Sendable>: Sendable {
  private struct State {
    var value: Value?
    var running: Task<Value, any Error>?
    var lastReadMs: Int64 = .min / 2
  }
  private let state = Mutex(State())
  private let minimumIntervalMs: Int64
  private let now: @Sendable () -> Int64

  /// A lookup paced by `now` (ms); each call says how to read (the owner's method).
  init(minimumIntervalMs: Int64, now: @escaping @Sendable () -> Int64) {
    self.minimumIntervalMs = minimumIntervalMs
    self.now = now
  }

  /// The value held, if any (no read).
  var current: Value? { state.withLock { $0.value } }

  /// The value held, read first (by `read`) if there is none.
  func value(read: @escaping @Sendable () async throws -> Value) async throws -> Value {
    if let value = current { return value }
    return try await refresh(force: true, read: read)
  }

  /// Changes the value held in place (a `MOVED` patching the slot map).
  func update(_ body: (inout Value) -> Void) {
    state.withLock { state in
      if state.value != nil { body(&state.value!) }
    }
  }

  /// Reads again (joining a read under way); unless `force`, returns the value held when the last
  /// read began under `minimumIntervalMs` ago.
  @discardableResult
  func refresh(force: Bool, read: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let clock = now()
    let task: Task<Value, any Error> = state.withLock { state in
      if let running = state.running { return running }
      if !force, let value = state.value, clock - state.lastReadMs < minimumIntervalMs { return Task { value } }
      let task = Task { try await read() }
      state.running = task
      state.lastReadMs = clock
      return task
    }
    do {
      let value = try await task.value
      state.withLock { state in
        if state.running == task {
          state.running = nil
          state.value = value
        }
      }
      return value
    } catch {
      state.withLock { state in if state.running == task { state.running = nil } }
      throw error
    }
  }

  /// Asks for a read in the background (paced as `refresh(force: false)`).
  func refreshSoon(read: @escaping @Sendable () async throws -> Value) {
    Task { _ = try? await self.refresh(force: false, read: read) }
  }
}
