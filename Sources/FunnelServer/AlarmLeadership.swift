import Foundation
import Indicators
import RedisStore

/// Which replica evaluates the alarm rules and notifies: with a shared Redis every replica sees the
/// same rollups, so one of them must speak for the fleet, or each state change would be notified once
/// per replica. The leader holds `dash:alarm-leader` (SET NX with a 5 s expiry, extended every second
/// it evaluates, by a script that extends only its own hold); when it stops, another takes over within
/// 5 s, starting its rules in `ok` (a rule still failing fires again there: receivers de-duplicate by
/// the dedup key). The leader also shares the rules' states (`dash:alarms`), so every replica's
/// dashboard shows the fleet's alarms. Without Redis the one process is the leader. Thread-safe.
struct AlarmLeadership: Sendable {
  let redis: RedisClient?
  let key: String
  let replica: String
  static let holdMs = 5_000

  init(redis: RedisClient?, replica: String, keyPrefix: String = "funnel:") {
    self.redis = redis
    self.key = keyPrefix + "dash:alarm-leader"
    self.replica = replica
  }

  static let claim = """
  if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
  return 0
  """

  /// Whether this replica leads now (claiming or extending the hold). False when Redis cannot be
  /// reached: no replica can then read the rollups either.
  func lead() async -> Bool {
    guard let redis else { return true }
    guard case .integer(let held)? = try? await redis.command(["EVAL", Self.claim, "1", key, replica, String(Self.holdMs)]) else {
      return false
    }
    return held == 1
  }

  /// Shares the leader's rule states for 5 s (best effort).
  func share(_ states: [AlarmStatus]) async {
    guard let redis, let json = try? JSONEncoder().encode(states) else { return }
    _ = try? await redis.command(["SET", key + ":states", String(decoding: json, as: UTF8.self), "PX", String(Self.holdMs)])
  }

  /// The leader's rule states, if a leader shared them lately.
  func shared() async -> [AlarmStatus]? {
    guard let redis, case .bulk(let bytes)? = try? await redis.command(["GET", key + ":states"]) else { return nil }
    return try? JSONDecoder().decode([AlarmStatus].self, from: Data(bytes))
  }
}
