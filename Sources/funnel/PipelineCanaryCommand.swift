import ArgumentParser
import Experiments
import Foundation
import FunnelCore
import RedisStore

/// `funnel pipeline canary`: judges the model canary and promotes or rolls it back.
struct PipelineCanary: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "canary",
    abstract: "Judge the model canary on what users did: promote the candidate when it wins or holds, roll it back when it loses.",
    discussion: """
      The canary's lists (arm canary:candidate, ranked by the candidate) against the serving model's lists in the \
      same scenes since the trial started, on --metric per list with a two-proportion z-test: a loss larger than \
      --tolerance (relative) at p < --alpha rolls back, and so do answers whose p95 latency is more than \
      --latency-tolerance above the serving model's or whose share of degraded answers is significantly higher (by \
      more than a point); with --min-exposures lists in each group and none of these \
      the candidate is promoted (moved into REGISTRY/NAME/VERSION, which every replica loads); a trial older than \
      --max-hours without enough lists is rolled back. Prints the decision; run it from cron until the trial ends.
      """)

  @OptionGroup var wheel: WheelOptions
  @Option(help: "Guarded rate: ctr or conversion.") var metric = "ctr"
  @Option(help: "Lists each group needs before a decision.") var minExposures = 1_000
  @Option(help: "Relative loss tolerated (0.02: 2% worse).") var tolerance = 0.02
  @Option(help: "Relative p95 latency increase of the canary's answers tolerated (0.25: 25% slower).") var latencyTolerance = 0.25
  @Option(help: "Significance level.") var alpha = 0.05
  @Option(help: "Longest trial in hours.") var maxHours = 168

  func run() async throws {
    do {
      guard let metric = CanaryJudge.Metric(rawValue: metric) else {
        throw FunnelError(.invalidArgument, "--metric \(self.metric): expected ctr or conversion")
      }
      let client = try RedisClient(url: wheel.redisURL, timeoutMs: 10_000)
      guard let document = try await client.command(["GET", Canary.redisKey]).string else {
        print("no canary on trial")
        return
      }
      let canary = try Canary(json: document)
      let now = wheel.now
      let (attributed, _, _) = try await ExportTraining.attributed(redisURL: wheel.redisURL, sinceMs: canary.startedMs,
                                                                   windowMs: wheel.windowMs)
      let judge = CanaryJudge(metric: metric, minExposures: minExposures, tolerance: tolerance, alpha: alpha,
                              maxDurationMs: Int64(maxHours) * 3_600_000, latencyTolerance: latencyTolerance)
      let verdict = judge.judge(canary, attributed: attributed, nowMs: now)
      print("\(verdict.decision.rawValue): \(canary.model) against \(canary.control): \(verdict.reason)")
      let directory = (canary.path as NSString).deletingLastPathComponent
      switch verdict.decision {
      case .wait:
        return
      case .promote:
        // The trial ends first: a replica never ranks the canary's users with a file that moved.
        _ = try await client.command(["DEL", Canary.redisKey])
        print("promoted: \(try Self.promote(candidateDirectory: directory, registry: wheel.registry, name: wheel.name))")
      case .rollback:
        _ = try await client.command(["DEL", Canary.redisKey])
        let parked = directory + ".rolled-back"
        try? FileManager.default.moveItem(atPath: directory, toPath: parked)
        print("rolled back: \(canary.model) kept in \(parked); every replica serves \(canary.control)")
      }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    } catch let error as RedisError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }

  /// Moves a candidate's directory into the registry as its version (one rename on one file
  /// system: replicas see all of it or none); returns the new version directory.
  static func promote(candidateDirectory: String, registry: String, name: String) throws -> String {
    let version = (candidateDirectory as NSString).lastPathComponent
    let target = "\(registry)/\(name)/\(version)"
    guard !FileManager.default.fileExists(atPath: target) else {
      throw FunnelError(.failedPrecondition, "\(target) exists already; the candidate stays in \(candidateDirectory)")
    }
    do {
      try FileManager.default.moveItem(atPath: candidateDirectory, toPath: target)
    } catch {
      throw FunnelError(.failedPrecondition, "cannot move \(candidateDirectory) to \(target): \(error.localizedDescription)")
    }
    return target
  }
}
