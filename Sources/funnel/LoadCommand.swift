import ArgumentParser
import Foundation
import FunnelCore
import LoadGenerator

/// `funnel load`: open-loop load against a running server, with SLOs.
struct Load: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Drive a running server at a fixed arrival rate and report latency percentiles against SLOs.",
    discussion: """
      Open loop: calls leave on schedule whether or not earlier ones answered, and latency counts from the \
      intended send time. Exit status 1 when an SLO is missed. The client shares the machine's CPU with a \
      local server: say so when quoting figures.
      """)
  @Option(help: "Server address HOST:PORT, or several separated by commas (calls spread over them; a call answered UNAVAILABLE is sent once more to the next).") var target = "127.0.0.1:50051"
  @Option(help: "Calls per second.") var rate: Double = 100
  @Option(help: "How long, e.g. 30s, 2m.") var duration = "30s"
  @Option(help: "Scenario file (JSON: mix, users, items, queries, filters); default 70% home, 20% item page, 10% search.")
  var scenario: String?
  @Option(help: "SLOs, e.g. 'p99<10ms,errors<0.1%'.") var slo: String?
  @Option(help: "HTTP/2 connections.") var connections = 4
  @Option(help: "Client code: nio-http2 (default; Funnel's lean client, frames on swift-nio-http2) or grpc-swift.")
  var client = "nio-http2"
  @Option(help: "Arrival process: constant or poisson.") var arrivals = "constant"
  @Option(help: "Write the JSON report here.") var json: String?
  @Flag(help: "Search for the highest rate that meets --slo (each step runs for --duration, longer for --min-calls, up to 6x).")
  var findMax = false
  @Option(help: "With --find-max: calls per step at least (a p99 from 2,000 calls rests on its 20 worst; from 500, on 5).")
  var minCalls = 2_000
  @Flag(help: "No progress line.") var quiet = false
  @OptionGroup var security: ClientSecurityOptions

  func run() async throws {
    do {
      let targets = try parseTargets(target)
      guard rate > 0 else { throw ValidationError("--rate must be positive") }
      let seconds = try LoadDuration.milliseconds(duration, what: "--duration") / 1_000
      let slo = try self.slo.map(LoadSLO.init)
      guard let arrivals = LoadRun.Arrivals(rawValue: arrivals) else { throw ValidationError("--arrivals: constant or poisson") }
      var run = LoadRun(targets: targets, rate: rate, seconds: seconds)
      run.security = security.value
      run.connections = connections
      guard let kind = LoadRun.Client(rawValue: client) else {
        throw ValidationError("--client must be one of \(LoadRun.Client.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      run.client = kind
      run.arrivals = arrivals
      if let scenario { run.scenario = try LoadScenario(file: scenario) }
      let printLine: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
      let progress: (@Sendable (String) -> Void)? = quiet ? nil : printLine
      if findMax {
        guard let slo else { throw ValidationError("--find-max needs --slo") }
        guard minCalls >= 1 else { throw ValidationError("--min-calls must be at least 1") }
        let (best, report) = try await Self.findMax(run, slo: slo, minCalls: minCalls, progress: progress)
        print("highest rate meeting \(slo): \(best.map { String(format: "%.0f/s", $0) } ?? "none (the lowest rate tried missed)")")
        if let report { finish(report, slo: slo) }
        if best == nil { throw ExitCode(1) }
        return
      }
      finish(try await run.run(progress: progress), slo: slo)
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }

  private func finish(_ report: LoadReport, slo: LoadSLO?) {
    print(report.table)
    if let json { try? report.json.write(toFile: json, atomically: true, encoding: .utf8) }
    guard let slo else { return }
    let missed = slo.misses(report)
    print(missed.isEmpty ? "SLO \(slo): met" : "SLO \(slo): MISSED (\(missed.joined(separator: "; ")))")
    if !missed.isEmpty { Foundation.exit(1) }
  }

  /// Doubles the rate until the SLO breaks, then bisects (5 steps) between the last pass and the
  /// first failure. Each step runs for the base duration or for `minCalls` calls, whichever is
  /// longer (up to six base durations): at low rates a short step gives a p99 that rests on a
  /// handful of calls. Returns the best passing rate and its report.
  static func findMax(_ base: LoadRun, slo: LoadSLO, minCalls: Int, progress: (@Sendable (String) -> Void)?) async throws
    -> (Double?, LoadReport?)
  {
    var run = base
    var pass: (Double, LoadReport)?
    var fail: Double?
    func attempt(_ rate: Double) async throws -> Bool {
      run.rate = rate
      // At most six times the base duration, so that halving down to a few calls/s stays bounded.
      run.seconds = max(base.seconds, min(Double(minCalls) / rate, 6 * base.seconds))
      let report = try await run.run(progress: nil)
      let ok = slo.misses(report).isEmpty && report.achievedRate >= rate * 0.95
      progress?(String(format: "rate %.0f/s: p99 %.2f ms, achieved %.0f/s, errors %d -> %@", rate, report.millis(99),
                       report.achievedRate, report.errorCount, ok ? "meets" : "misses"))
      if ok, rate > (pass?.0 ?? 0) { pass = (rate, report) }
      return ok
    }
    var rate = base.rate
    while try await attempt(rate) {
      rate *= 2
      if rate > 1_000_000 { break }
    }
    fail = rate
    var low = pass?.0 ?? base.rate / 2
    if pass == nil {
      // Even the first rate missed: halve until one passes (or give up below 1/s).
      while low >= 1, try await !attempt(low) { low /= 2 }
      if pass == nil { return (nil, nil) }
      fail = low * 2
    }
    var high = fail ?? rate
    for _ in 0..<5 {
      let mid = (low + high) / 2
      if try await attempt(mid) { low = mid } else { high = mid }
    }
    return (pass?.0, pass?.1)
  }
}
