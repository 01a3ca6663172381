import FunnelCore
import Synchronization

/// User profile features in front of an `OfflineFeatureSource`: an LRU of `capacity` users whose
/// entries are fresh for `ttlMs`, then served stale for up to `staleMs` more while one background
/// fetch refreshes them (a known user never waits on the store again once cached, and a store
/// outage shorter than `staleMs` goes unnoticed), request coalescing (concurrent reads of one user
/// share one fetch) and batching (users missed while `maxConcurrentFetches` fetches are in flight
/// are read together in the next one, up to `maxBatch` ids: one `$in` query instead of one query
/// per user, so the store sees fewer, larger reads exactly when it is busiest; at low load every
/// miss is fetched at once, by its caller, with no extra task hop).
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
    var hits = 0, misses = 0, coalesced = 0, fetches = 0, stale = 0
  }

  /// Ids per fetch at most (the source chunks large `$in` lists further).
  public static let maxBatch = 256
  /// Fetches in flight at once; later misses wait for the next free one and share it.
  public static let maxConcurrentFetches = 4

  private let source: any OfflineFeatureSource
  private let capacity: Int
  private let ttlMs: Int64
  private let staleMs: Int64
  private let now: @Sendable () -> Int64
  private let state = Mutex(State())

  /// A cache of at most `capacity` users, fresh for `ttlMs` each and then served stale for up to
  /// `staleMs` while refreshed (0: an expired entry is a miss), over `source`.
  public init(source: any OfflineFeatureSource, capacity: Int = 100_000, ttlMs: Int64 = 300_000, staleMs: Int64 = 0,
              now: @escaping @Sendable () -> Int64) {
    self.source = source
    self.capacity = max(1, capacity)
    self.ttlMs = ttlMs
    self.staleMs = max(0, staleMs)
    self.now = now
  }

  /// Hits, misses (users fetched) and callers that joined another caller's fetch, since start.
  public var counts: (hits: Int, misses: Int, coalesced: Int) { state.withLock { ($0.hits, $0.misses, $0.coalesced) } }

  /// Reads answered from an expired entry while it was refreshed, since start.
  public var staleHits: Int { state.withLock { $0.stale } }

  /// Fetches made so far (each for one batch of users).
  public var fetches: Int { state.withLock { $0.fetches } }

  /// The features of `user` when the cache can answer at once (a fresh entry, or a stale one whose
  /// refresh this call queues), else nil without counting a miss: lets a caller skip the machinery
  /// of waiting on a store when the answer is in memory. O(1); never blocks.
  public func cachedFeatures(of user: UserID) -> [String: Float]? { answerNow(lookup(user, claimingMiss: false)) }

  /// The features a hit or a stale entry answers with (starting the refresh the stale lookup claimed:
  /// it holds a fetch slot, in a short-lived task so the caller answers now); nil for other steps.
  private func answerNow(_ step: Step) -> [String: Float]? {
    switch step {
    case .hit(let features): return features
    case .stale(let features, let refresh):
      if refresh { Task { await self.fetchQueued() } }
      return features
    case .fetch, .wait, .absent: return nil
    }
  }

  private enum Step { case hit([String: Float]), stale([String: Float], refresh: Bool), fetch([UserID]), wait, absent }

  /// What a read of `user` does, decided under the lock. `claimingMiss`: a miss is counted and
  /// queued or fetched by the caller; otherwise a miss is `.absent` and nothing changes.
  private func lookup(_ user: UserID, claimingMiss: Bool) -> Step {
    let nowMs = now()
    return state.withLock { s in
      s.tick += 1
      if var entry = s.entries[user], entry.expiresMs + staleMs > nowMs {
        entry.lastUse = s.tick
        s.entries[user] = entry
        guard entry.expiresMs <= nowMs else {
          s.hits += 1
          return .hit(entry.features)
        }
        // Stale: answer now; queue one refresh of the user unless one is queued or in flight.
        s.stale += 1
        guard s.waiting[user] == nil else { return .stale(entry.features, refresh: false) }
        s.waiting[user] = []
        s.queued.append(user)
        guard s.fetchesInFlight < Self.maxConcurrentFetches else { return .stale(entry.features, refresh: false) }
        s.fetchesInFlight += 1
        return .stale(entry.features, refresh: true)
      }
      guard claimingMiss else { return .absent }
      if s.waiting[user] != nil {
        s.coalesced += 1
        return .wait
      }
      s.waiting[user] = []
      s.misses += 1
      guard s.fetchesInFlight < Self.maxConcurrentFetches else {
        s.queued.append(user)
        return .wait
      }
      s.fetchesInFlight += 1
      s.fetches += 1
      let others = s.queued.prefix(Self.maxBatch - 1)
      s.queued.removeFirst(others.count)
      return .fetch([user] + others)
    }
  }

  /// The features of `user` (empty for a user without a profile). A miss with a fetch slot free is
  /// fetched by the caller itself, together with the users queued so far; otherwise the caller
  /// waits for its user's turn in a fetch already running.
  public func features(of user: UserID) async throws -> [String: Float] {
    let step = lookup(user, claimingMiss: true)
    if let features = answerNow(step) { return features }
    switch step {
    case .fetch(let batch):
      let result = await fetch(batch)
      // Users queued meanwhile keep this fetch slot: a short-lived task reads them in batches.
      let more = state.withLock { s -> Bool in
        if s.queued.isEmpty { s.fetchesInFlight -= 1 }
        return !s.queued.isEmpty
      }
      if more { Task { await self.fetchQueued() } }
      return try result.map { $0[user] ?? [:] }.get()
    case .wait:
      return try await withCheckedThrowingContinuation { (waiter: Waiter) in
        let joined = state.withLock { s -> Bool in
          guard s.waiting[user] != nil else { return false }
          s.waiting[user]!.append(waiter)
          return true
        }
        // The fetch finished between the two locks: read what it left, or ask again.
        if !joined {
          Task { waiter.resume(with: await Result { try await self.features(of: user) }) }
        }
      }
    case .hit, .stale, .absent:
      preconditionFailure("hits and stale entries are answered above; a lookup that claims misses is never absent")
    }
  }

  /// Reads `batch` in one fetch, caches what came back, and resumes every waiter of those users.
  private func fetch(_ batch: [UserID]) async -> Result<[UserID: [String: Float]], any Error> {
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
    return result
  }

  /// Fetches batches of queued users until none is left (holding one fetch slot).
  private func fetchQueued() async {
    while true {
      let batch: [UserID] = state.withLock { s in
        let batch = Array(s.queued.prefix(Self.maxBatch))
        s.queued.removeFirst(batch.count)
        if batch.isEmpty { s.fetchesInFlight -= 1 } else { s.fetches += 1 }
        return batch
      }
      guard !batch.isEmpty else { return }
      _ = await fetch(batch)
    }
  }

  /// Drops `user`'s entry (ForgetUser); a fetch in flight still completes for its waiters.
  public func forget(_ user: UserID) { state.withLock { _ = $0.entries.removeValue(forKey: user) } }

  /// Drops every cached user `matches` picks (an erasure known only by the user's digest). O(entries);
  /// `matches` runs outside the lock (hashing every cached id would hold up lookups), on a copy of the
  /// ids taken under it.
  public func forget(where matches: (UserID) -> Bool) {
    let doomed = state.withLock { Array($0.entries.keys) }.filter(matches)
    guard !doomed.isEmpty else { return }
    state.withLock { s in for user in doomed { s.entries[user] = nil } }
  }
}

extension Result where Failure == any Error {
  /// The result of an async throwing body.
  init(_ body: () async throws -> Success) async {
    do { self = .success(try await body()) } catch { self = .failure(error) }
  }
}
