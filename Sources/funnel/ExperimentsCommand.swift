import ArgumentParser
import Experiments
import FeatureStore
import Foundation
import FunnelCore
import FunnelGRPC
import FunnelServer
import GRPCCore
import IndexFormat
import Logging
import RedisStore
import ServiceLifecycle
import Serving

/// `funnel experiments report`.
struct ExperimentsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "experiments", abstract: "A/B experiments.",
                                                  subcommands: [ExperimentsReport.self])
}

struct ExperimentsReport: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Per-arm exposures, CTR, add-to-cart, conversion and revenue per exposure, with 95% intervals and a z-test against control (Admin.ExperimentReport).")
  @OptionGroup var connection: TargetOptions
  @Option(help: "Experiment name (default: all, plus traffic outside experiments).") var experiment = ""
  @Option(help: "Only exposures since this day (YYYY-MM-DD, UTC).") var since: String?

  func run() async throws {
    var request = Funnel_V1_ExperimentReportRequest()
    request.experiment = experiment
    request.sinceMs = try since.map(IngestData.parseDay) ?? 0
    let options = connection.callOptions
    let report = try await connection.withClient(defaultTarget: TargetOptions.adminTarget) {
      try await Funnel_V1_Admin.Client(wrapping: $0).experimentReport(request, options: options)
    }
    if connection.json { return try connection.printJSON(report) }
    func rate(_ p: Funnel_V1_Proportion) -> String {
      let base = String(format: "%.4f [%.4f, %.4f]", p.value, p.ciLow, p.ciHigh)
      return p.tested ? base + String(format: " z=%+.2f p=%.4f", p.z, p.pValue) : base
    }
    for arm in report.arms {
      print("\(arm.experiment.isEmpty ? "(none)" : arm.experiment) / \(arm.arm)\(arm.control ? " (control)" : ""): \(arm.exposures) exposures")
      print("  CTR         \(rate(arm.clickThrough))")
      print("  add-to-cart \(rate(arm.addToCart))")
      print("  conversion  \(rate(arm.conversion))")
      print(String(format: "  revenue/exposure %.4f [%.4f, %.4f]%@  (revenue %.2f)", arm.revenuePerExposure, arm.revenueCiLow,
                   arm.revenueCiHigh, arm.clickThrough.tested ? String(format: " z=%+.2f p=%.4f", arm.revenueZ, arm.revenuePValue) : "", arm.revenue))
    }
    if report.arms.isEmpty { print("no exposures yet") }
  }
}
