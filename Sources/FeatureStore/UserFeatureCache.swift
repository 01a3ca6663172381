import FunnelCore
import Synchronization

/// User profile features in front of an `OfflineFeatureSource`: an LRU of `capacity` users whose
/// entries live `ttlMs`, request coalescing (concurrent reads of one user share one fetch) and
/// batching (users missed while `maxConcurrentFetches` fetches are in flight are read together in
/// the next one, up to `maxBatch` ids: one `$in` query instead of one query per user, so the store
/// sees fewer, larger reads exactly when it is busiest; at low load every miss is fetched at once).
///
/// Thread-safe. A fetch failure is returned to every caller waiting on it and not cached.
public final class UserFeatureCache: Sendable {
  private typealias Waiter = CheckedContinuation<[String: Float], any Error>
  private struct Entry {
    var features: [String: Float]
    var expiresMs: Int64
    var lastUse: UInt64
  }
  private struct State {
    var entries: [UserID: Entry] = [:]
    /// Callers of each user that is queued or being fetched.
    var waiting: [UserID: [Waiter]] = [:]
    /// Missed users not in a fetch yet, oldest first.
    var queued: [UserID] = []
    var fetchesInFlight = 0
    var tick: UInt64 = 0
    var hits = 0, misses = 0, coalesced = 0, fetches = 0
  }

  /// Ids per fetch at most (the source chunks large `$in` lists further).
  public static let maxBatch = 256
  /// Fetches in flight at once; later misses wait for the next free one and share it.
  public static let maxConcurrentFetches = 4

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

  /// Hits, misses (users fetched) and callers that joined another caller's fetch, since start.
  public var counts: (hits: Int, misses: Int, coalesced: Int) { state.withLock { ($0.hits, $0.misses, $0.coalesced) } }

  /// Fetches made so far (each for one batch of users).
  public var fetches: Int { state.withLock { $0.fetches } }

  /// The features of `user` (empty for a user without a profile).
  public func features(of user: UserID) async throws -> [String: Float] {
    let nowMs = now()
    let hit: [String: Float]? = state.withLock { s in
      s.tick += 1
      guard var entry = s.entries[user], entry.expiresMs > nowMs else { return nil }
      entry.lastUse = s.tick
      s.entries[user] = entry
      s.hits += 1
      return entry.features
    }
    if let hit { return hit }
    return try await withCheckedThrowingContinuation { (waiter: Waiter) in
      enum Step { case hit([String: Float]), wait, fetch }
      let step: Step = state.withLock { s in
        // Filled between the two locks: a hit after all.
        if let entry = s.entries[user], entry.expiresMs > nowMs {
          s.hits += 1
          return .hit(entry.features)
        }
        if s.waiting[user] != nil {
          s.waiting[user]!.append(waiter)
          s.coalesced += 1
          return .wait
        }
        s.waiting[user] = [waiter]
        s.queued.append(user)
        s.misses += 1
        guard s.fetchesInFlight < Self.maxConcurrentFetches else { return .wait }
        s.fetchesInFlight += 1
        return .fetch
      }
      switch step {
      case .hit(let features): waiter.resume(returning: features)
      case .wait: break
      // A short-lived task: it ends when the queue is empty (no caller waits on it as a whole;
      // each caller waits for its own user).
      case .fetch: Task { await self.fetchQueued() }
      }
    }
  }

  /// Fetches batches of queued users until none is left, resuming each user's callers.
  private func fetchQueued() async {
    while true {
      let batch: [UserID] = state.withLock { s in
        let batch = Array(s.queued.prefix(Self.maxBatch))
        s.queued.removeFirst(batch.count)
        if batch.isEmpty { s.fetchesInFlight -= 1 } else { s.fetches += 1 }
        return batch
      }
      guard !batch.isEmpty else { return }
      let fetchedAtMs = now()
      let result = await Result { try await source.userFeatures(batch) }
      let resumes = state.withLock { s -> [(Waiter, Result<[String: Float], any Error>)] in
        var resumes: [(Waiter, Result<[String: Float], any Error>)] = []
        for user in batch {
          let features = result.map { $0[user] ?? [:] }
          if case .success(let value) = features {
            s.entries[user] = Entry(features: value, expiresMs: fetchedAtMs + ttlMs, lastUse: s.tick)
          }
          for waiter in s.waiting.removeValue(forKey: user) ?? [] { resumes.append((waiter, features)) }
        }
        if s.entries.count > capacity {
          // Evict the least recently used tenth at once: O(n log n) every capacity / 10 inserts.
          let byAge = s.entries.sorted { $0.value.lastUse < $1.value.lastUse }
          for (key, _) in byAge.prefix(s.entries.count - capacity * 9 / 10) { s.entries[key] = nil }
        }
        return resumes
      }
      for (waiter, features) in resumes { waiter.resume(with: features) }
    }
  }

  /// Drops `user`'s entry (ForgetUser); a fetch in flight still completes for its waiters.
  public func forget(_ user: UserID) { state.withLock { _ = $0.entries.removeValue(forKey: user) } }
}

extension Result where Failure == any Error {
  /// The result of an async throwing body.
  init(_ body: () async throws -> Success) async {
    do { self = .success(try await body()) } catch { self = .failure(error) }
  }
}
