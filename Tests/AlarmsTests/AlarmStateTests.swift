import Alarms
import Indicators
import Testing

/// The firing/resolved state machine, stepped with a test clock.
struct AlarmStateTests {
  @Test func firesAfterItsDurationAndResolvesOnce() {
    var state = AlarmState(nowMs: 0)
    var transitions: [(Int64, AlarmTransition.Kind)] = []
    // The condition holds from 10 s to 40 s; the rule wants 15 s.
    for second in Int64(0)...60 {
      if let t = state.step(nowMs: second * 1000, holds: (10...40).contains(second), value: Double(second), forMs: 15_000) {
        transitions.append((second, t))
      }
    }
    #expect(transitions.map(\.0) == [25, 41])
    #expect(transitions.map(\.1) == [.firing, .resolved])
    #expect(state.phase == .ok)
  }

  @Test func aConditionShorterThanTheDurationNeverFires() {
    var state = AlarmState(nowMs: 0)
    for second in Int64(0)...100 {
      // Holds 10 s out of every 20: never 15 s in a row.
      #expect(state.step(nowMs: second * 1000, holds: second % 20 < 10, value: nil, forMs: 15_000) == nil)
    }
  }

  @Test func unknownValuesHoldTheState() {
    var state = AlarmState(nowMs: 0)
    #expect(state.step(nowMs: 0, holds: true, value: 1, forMs: 0) == .firing)
    #expect(state.step(nowMs: 1_000, holds: nil, value: nil, forMs: 0) == nil)
    #expect(state.phase == .firing)
    #expect(state.value == 1)
    #expect(state.step(nowMs: 2_000, holds: false, value: 0, forMs: 0) == .resolved)
  }

  @Test func robustZScoresAgainstHandComputedValues() {
    // median 10, MAD 1 -> scale max(1.4826, sqrt(10) = 3.162) = 3.162.
    let z = AnomalyScore.robustZ(20, history: [9, 10, 11, 10, 12, 8, 10])!
    #expect(abs(z - 10 / 10.0.squareRoot()) < 1e-9)
    // A spread history: median 100, MAD 20 -> scale 29.652.
    let spread = AnomalyScore.robustZ(40, history: [60, 80, 100, 120, 140])!
    #expect(abs(spread - (-60 / 29.652)) < 1e-9)
    #expect(AnomalyScore.robustZ(1, history: []) == nil)
  }

  @Test func theEWMABandLearnsBeforeItScores() {
    var band = EWMABand(alpha: 0.2, warmup: 5)
    for x in [10.0, 12, 9, 11, 10] {
      #expect(band.z(of: x) == nil || band.count >= 5)
      band.update(x)
    }
    #expect(band.z(of: 10.5).map { abs($0) < 1 } == true)
    #expect(band.z(of: 60).map { $0 > 5 } == true)
  }

  @Test func rulesThatCannotWorkAreRefusedNamingTheField() {
    func error(_ rule: AlarmRule) -> String? {
      do { try rule.validate(at: "alarms[0]"); return nil } catch let e as AlarmRuleError { return e.message } catch { return "\(error)" }
    }
    #expect(error(AlarmRule(name: "ok", kind: .above, indicator: "orders.paid", windowSeconds: 60, threshold: 1)) == nil)
    #expect(error(AlarmRule(name: "bad name!", kind: .above, indicator: "x", windowSeconds: 60, threshold: 1))?.hasPrefix("alarms[0].name") == true)
    #expect(error(AlarmRule(name: "w", kind: .above, indicator: "x", windowSeconds: 0, threshold: 1))?.hasPrefix("alarms[0].windowSeconds") == true)
    #expect(error(AlarmRule(name: "c", kind: .change, indicator: "x", windowSeconds: 60, threshold: -0.5))?
      .hasPrefix("alarms[0].comparedToSecondsAgo") == true)
    #expect(error(AlarmRule(name: "z", kind: .robustZ, indicator: "x", windowSeconds: 90, threshold: 4))?
      .hasPrefix("alarms[0].windowSeconds") == true)
    #expect(error(AlarmRule(name: "s", kind: .above, indicator: "x", windowSeconds: 60, threshold: 1, severity: "panic"))?
      .hasPrefix("alarms[0].severity") == true)
  }
}
