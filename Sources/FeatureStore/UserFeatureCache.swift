import FunnelCore
import Synchronization

/// User profile features in front of an `OfflineFeatureSource`: an LRU of `capacity` users whose
/// entries live `ttlMs`, and request coalescing (concurrent reads of one user share one fetch).
///
/// Thread-safe. A fetch failure is returned to every caller waiting on it and not cached.
public final class UserFeatureCache: Sendable {
  private struct Entry {
    var features: [String: Float]
    var expiresMs: Int64
    var lastUse: UInt64
  }
  private struct State {
    var entries: [UserID: Entry] = [:]
    var waiting: [UserID: [CheckedContinuation<[String: Float], any Error>]] = [:]
    var tick: UInt64 = 0
    var hits = 0, misses = 0, coalesced = 0
  }

  private let source: any OfflineFeatureSource
  private let capacity: Int
  private let ttlMs: Int64
  private let now: @Sendable () -> Int64
  private let state = Mutex(State())

  /// A cache of at most `capacity` users for `ttlMs` each, over `source`.
  public init(source: any OfflineFeatureSource, capacity: Int = 100_000, ttlMs: Int64 = 300_000,
              now: @escaping @Sendable () -> Int64) {
    self.source = source
    self.capacity = max(1, capacity)
    self.ttlMs = ttlMs
    self.now = now
  }

  /// Hits, misses (fetches) and callers that joined another caller's fetch, since start.
  public var counts: (hits: Int, misses: Int, coalesced: Int) { state.withLock { ($0.hits, $0.misses, $0.coalesced) } }

  /// The features of `user` (empty for a user without a profile).
  public func features(of user: UserID) async throws -> [String: Float] {
    let nowMs = now()
    enum Step { case hit([String: Float]), fetch, wait }
    let step: Step = state.withLock { s in
      s.tick += 1
      if var entry = s.entries[user], entry.expiresMs > nowMs {
        entry.lastUse = s.tick
        s.entries[user] = entry
        s.hits += 1
        return .hit(entry.features)
      }
      if s.waiting[user] != nil {
        s.coalesced += 1
        return .wait
      }
      s.waiting[user] = []
      s.misses += 1
      return .fetch
    }
    switch step {
    case .hit(let features):
      return features
    case .wait:
      return try await withCheckedThrowingContinuation { continuation in
        let joined = state.withLock { s -> Bool in
          guard s.waiting[user] != nil else { return false }
          s.waiting[user]!.append(continuation)
          return true
        }
        // The fetch finished between the two locks: read what it left (or fetch again).
        if !joined {
          continuation.resume(with: Result(catching: { try self.cached(user) ?? [:] }))
        }
      }
    case .fetch:
      let result = await Result { try await source.userFeatures([user])[user] ?? [:] }
      let waiters = state.withLock { s -> [CheckedContinuation<[String: Float], any Error>] in
        if case .success(let features) = result {
          s.entries[user] = Entry(features: features, expiresMs: nowMs + ttlMs, lastUse: s.tick)
          if s.entries.count > capacity {
            // Evict the least recently used tenth at once: O(n log n) every capacity / 10 inserts.
            let byAge = s.entries.sorted { $0.value.lastUse < $1.value.lastUse }
            for (key, _) in byAge.prefix(s.entries.count - capacity * 9 / 10) { s.entries[key] = nil }
          }
        }
        return s.waiting.removeValue(forKey: user) ?? []
      }
      for waiter in waiters { waiter.resume(with: result) }
      return try result.get()
    }
  }

  /// Drops `user`'s entry (ForgetUser); a fetch in flight still completes for its waiters.
  public func forget(_ user: UserID) { state.withLock { _ = $0.entries.removeValue(forKey: user) } }

  private func cached(_ user: UserID) throws -> [String: Float]? { state.withLock { $0.entries[user]?.features } }
}

extension Result where Failure == any Error {
  /// The result of an async throwing body.
  init(_ body: () async throws -> Success) async {
    do { self = .success(try await body()) } catch { self = .failure(error) }
  }
}
