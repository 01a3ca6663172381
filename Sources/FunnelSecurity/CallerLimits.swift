import Foundation
import Synchronization

/// Per-caller limits, so one caller cannot starve the others: a token bucket per caller and scope
/// (calls per second with a burst), and a cap on one caller's calls in flight. Callers are the
/// authenticated ones (an API key's name, a JWT's subject); with authentication off there are none to
/// tell apart and nothing is limited here (the transports' own limits still hold). Memory is bounded:
/// at most `maxCallers` callers are tracked, the idlest forgotten first. Thread-safe (one mutex, O(1)
/// per call).
public final class CallerLimits: Sendable {
  /// What each caller may do.
  public struct Settings: Sendable, Equatable {
    /// Calls per second and burst, per scope; a scope not named is not rate-limited.
    public var rates: [Scope: Rate]
    /// Calls of one caller in flight at once; 0: no cap.
    public var maxConcurrent: Int
    /// Callers tracked at once.
    public var maxCallers: Int

    public init(rates: [Scope: Rate] = [:], maxConcurrent: Int = 0, maxCallers: Int = 10_000) {
      self.rates = rates
      self.maxConcurrent = maxConcurrent
      self.maxCallers = maxCallers
    }

    /// Whether anything is limited.
    public var isEnabled: Bool { !rates.isEmpty || maxConcurrent > 0 }

    /// Parses `SCOPE=RATE[/BURST], ...` (`recommend=500/1000, events:write=2000`; the burst defaults to
    /// one second's calls). Throws naming the bad entry.
    public static func rates(_ text: String) throws(AuthConfigurationError) -> [Scope: Rate] {
      var rates: [Scope: Rate] = [:]
      for raw in text.split(separator: ",") {
        let entry = raw.trimmingCharacters(in: .whitespaces)
        guard !entry.isEmpty else { continue }
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let scope = Scope(rawValue: parts[0]) else {
          throw AuthConfigurationError("limits.callerRates entry '\(entry)' must be SCOPE=RATE[/BURST] with a known scope")
        }
        let numbers = parts[1].split(separator: "/").map { Double($0) }
        guard (1...2).contains(numbers.count), let perSecond = numbers[0], perSecond > 0, perSecond.isFinite,
              numbers.count == 1 || (numbers[1].map { $0 >= 1 && $0.isFinite } ?? false) else {
          throw AuthConfigurationError("limits.callerRates entry '\(entry)': the rate and burst must be positive numbers")
        }
        rates[scope] = Rate(perSecond: perSecond, burst: numbers.count == 2 ? numbers[1]! : max(1, perSecond))
      }
      return rates
    }
  }

  /// A token bucket's refill rate and size.
  public struct Rate: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Double
    public init(perSecond: Double, burst: Double) {
      self.perSecond = perSecond
      self.burst = burst
    }
  }

  /// Why a call was refused, with when to retry.
  public struct Refusal: Error, Sendable, Equatable {
    public let message: String
    /// How long until the caller may call again (for `Retry-After` and gRPC's pushback).
    public let retryAfter: Duration
  }

  private struct Tracked {
    var tokens: [Scope: (level: Double, at: ContinuousClock.Instant)] = [:]
    var inFlight = 0
    var lastSeen: ContinuousClock.Instant
  }

  public let settings: Settings
  private let callers: Mutex<[String: Tracked]>

  public init(_ settings: Settings) {
    self.settings = settings
    callers = Mutex([:])
  }

  /// Takes a token of `scope` and a slot for `caller`; the returned function gives the slot back when
  /// the call ends (call it once). Throws `Refusal` when the caller is over either limit.
  public func admit(_ caller: String, scope: Scope?, now: ContinuousClock.Instant = .now) throws(Refusal) -> @Sendable () -> Void {
    let settings = self.settings
    let outcome: Refusal? = callers.withLock { callers in
      if callers[caller] == nil, callers.count >= settings.maxCallers {
        // The idlest caller without calls in flight is forgotten (its bucket refills anyway).
        if let idlest = callers.lazy.filter({ $0.value.inFlight == 0 }).min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
          callers[idlest] = nil
        }
      }
      var tracked = callers[caller] ?? Tracked(lastSeen: now)
      tracked.lastSeen = now
      defer { callers[caller] = tracked }
      if settings.maxConcurrent > 0, tracked.inFlight >= settings.maxConcurrent {
        return Refusal(message: "caller '\(caller)' has \(tracked.inFlight) calls in flight (limit \(settings.maxConcurrent))",
                       retryAfter: .milliseconds(100))
      }
      if let scope, let rate = settings.rates[scope] {
        var (level, at) = tracked.tokens[scope] ?? (rate.burst, now)
        level = min(rate.burst, level + Double((now - at) / .milliseconds(1)) / 1_000 * rate.perSecond)
        guard level >= 1 else {
          tracked.tokens[scope] = (level, now)
          let wait = (1 - level) / rate.perSecond
          return Refusal(message: "caller '\(caller)' is over its \(scope.rawValue) rate (\(Self.format(rate.perSecond))/s)",
                         retryAfter: .milliseconds(max(1, Int((wait * 1_000).rounded(.up)))))
        }
        tracked.tokens[scope] = (level - 1, now)
      }
      tracked.inFlight += 1
      return nil
    }
    if let outcome { throw outcome }
    let permit = Permit(limits: self, caller: caller)
    return { permit.release() }
  }

  fileprivate func release(_ caller: String) {
    callers.withLock { if $0[caller] != nil { $0[caller]!.inFlight -= 1 } }
  }

  /// Callers tracked now.
  public var trackedCallers: Int { callers.withLock { $0.count } }

  private static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}

/// A call's slot, given back once.
private final class Permit: Sendable {
  let limits: CallerLimits
  let caller: String
  let released = Atomic<Bool>(false)

  init(limits: CallerLimits, caller: String) {
    self.limits = limits
    self.caller = caller
  }

  func release() {
    guard !released.exchange(true, ordering: .relaxed) else { return }
    limits.release(caller)
  }
}
