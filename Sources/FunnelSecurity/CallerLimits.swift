import Foundation
import Synchronization

/// Per-caller limits, so one caller cannot starve the others: a token bucket per caller and scope
/// (calls per second with a burst), a cap on one caller's calls in flight, and a cap on the
/// connections one caller makes calls on (a connection counts for a caller from its first call of
/// that caller until it closes; over the cap, the new connection's calls are refused). Callers are the
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
    /// Connections one caller calls on at once; 0: no cap.
    public var maxConnections: Int
    /// Callers tracked at once.
    public var maxCallers: Int

    public init(rates: [Scope: Rate] = [:], maxConcurrent: Int = 0, maxConnections: Int = 0, maxCallers: Int = 10_000) {
      self.rates = rates
      self.maxConcurrent = maxConcurrent
      self.maxConnections = maxConnections
      self.maxCallers = maxCallers
    }

    /// Whether anything is limited.
    public var isEnabled: Bool { !rates.isEmpty || maxConcurrent > 0 || maxConnections > 0 }

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
    var connections: Set<ObjectIdentifier> = []
    var lastSeen: ContinuousClock.Instant
    /// Nothing to give back: may be forgotten.
    var isIdle: Bool { inFlight == 0 && connections.isEmpty }
  }

  public let settings: Settings
  private let callers: Mutex<[String: Tracked]>

  public init(_ settings: Settings) {
    self.settings = settings
    callers = Mutex([:])
  }

  /// Takes a token of `scope` and a slot for `caller`, and counts `connection` (the one the call came
  /// on) for the caller; the returned function gives the slot back when the call ends (call it once).
  /// Throws `Refusal` when the caller is over any limit.
  public func admit(_ caller: String, scope: Scope?, connection: CallerConnection? = nil,
                    now: ContinuousClock.Instant = .now) throws(Refusal) -> @Sendable () -> Void {
    let settings = self.settings
    var attached = false
    let outcome: Refusal? = callers.withLock { callers in
      if callers[caller] == nil, callers.count >= settings.maxCallers {
        // The idlest caller with nothing to give back is forgotten (its bucket refills anyway).
        if let idlest = callers.lazy.filter({ $0.value.isIdle }).min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
          callers[idlest] = nil
        }
      }
      var tracked = callers[caller] ?? Tracked(lastSeen: now)
      tracked.lastSeen = now
      defer { callers[caller] = tracked }
      if settings.maxConnections > 0, let connection, !tracked.connections.contains(connection.id) {
        guard tracked.connections.count < settings.maxConnections else {
          return Refusal(message: "caller '\(caller)' calls on \(tracked.connections.count) connections (limit \(settings.maxConnections)): "
                           + "use one of them", retryAfter: .seconds(1))
        }
        tracked.connections.insert(connection.id)
        attached = true
      }
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
    if attached, let connection {
      // Registered outside the lock: a connection already closed runs this at once.
      connection.whenClosed { [weak self] in self?.detach(caller, connection.id) }
    }
    if let outcome { throw outcome }
    let permit = Permit(limits: self, caller: caller)
    return { permit.release() }
  }

  fileprivate func release(_ caller: String) {
    callers.withLock { if $0[caller] != nil { $0[caller]!.inFlight -= 1 } }
  }

  private func detach(_ caller: String, _ connection: ObjectIdentifier) {
    callers.withLock { _ = $0[caller]?.connections.remove(connection) }
  }

  /// Connections counted for `caller` now.
  public func connections(of caller: String) -> Int { callers.withLock { $0[caller]?.connections.count ?? 0 } }

  /// Callers tracked now.
  public var trackedCallers: Int { callers.withLock { $0.count } }

  private static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}

/// The connection a call came on, as the per-caller connection cap counts it: an identity that stays
/// unique while the connection is open, and a way to hear when it closes (`whenClosed` runs its
/// function once, at once if the connection is already closed).
public struct CallerConnection: Sendable {
  public let id: ObjectIdentifier
  public let whenClosed: @Sendable (@escaping @Sendable () -> Void) -> Void

  public init(id: ObjectIdentifier, whenClosed: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
    self.id = id
    self.whenClosed = whenClosed
  }
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
