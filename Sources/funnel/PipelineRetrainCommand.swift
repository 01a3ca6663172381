import ArgumentParser
import Evaluation
import Experiments
import Foundation
import FunnelCore
import FunnelServer
import Ranking
import RedisStore

/// `funnel pipeline retrain`: a new ranker from what the fleet served and what users did next,
/// through the offline gate into a canary.
struct PipelineRetrain: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "retrain",
    abstract: "Train a ranker on the served lists and their outcomes, gate it offline against the serving model, and start a canary.",
    discussion: """
      Steps: (1) the exposure log since --days ago joined with later clicks, carts and purchases (labels 1, 2, 3; \
      features as they were served); (2) split by answer time, the newest --held-out share kept out of training; \
      (3) train with Training/train_ranker.py into REGISTRY/NAME/.candidates/VERSION (replicas never load from \
      there); (4) the gate: NDCG@K of the candidate on the held-out lists must be at least the serving model's \
      minus --margin, clicks weighted by the inverse of their rank's examination chance (1/rank)^--position-bias \
      (refused: exit 3, gate.json says why), with a drift report per input (population stability \
      index, training slice against held-out slice); (5) the canary: --canary-share of users ranked by the candidate \
      on every replica, judged by `funnel pipeline canary` (with --canary-share 0 the candidate is promoted at once).
      """)

  @OptionGroup var wheel: WheelOptions
  @Option(help: "Served lists of the last DAYS days.") var days = 7
  @Option(help: "Share of the newest lists held out of training for the gate.") var heldOut = 0.2
  @Option(help: "Largest tolerated NDCG drop below the serving model.") var margin = 0.01
  @Option(help: "NDCG cut-off.") var k = 20
  @Option(help: "Fewest held-out lists with an outcome for a verdict.") var minLists = 50
  @Option(help: "Exponent η of the click propensity (1/rank)^η the gate corrects for (0: none).") var positionBias = 1.0
  @Option(help: "Share of users in the canary (0: promote without a canary).") var canaryShare = 0.1
  @Option(help: "Scenes of the canary, comma-separated (default: every scene).") var scenes: String?
  @Option(help: "Python with the pinned lightgbm (Training/requirements.txt).") var python = ".venv-training/bin/python"
  @Option(help: "The training script.") var trainer = "Training/train_ranker.py"
  @Flag(help: "Train on labels shuffled across rows: a useless model the gate must refuse (for testing the gate).")
  var shuffleLabels = false

  func run() async throws {
    do {
      guard (1...365).contains(days) else { throw FunnelError(.invalidArgument, "--days \(days) must be in 1...365") }
      guard heldOut > 0, heldOut < 1 else { throw FunnelError(.invalidArgument, "--held-out \(heldOut) must be in (0, 1)") }
      guard canaryShare >= 0, canaryShare <= Canary.maxShare else {
        throw FunnelError(.invalidArgument, "--canary-share \(canaryShare) must be in 0...\(Canary.maxShare)")
      }
      let (now, registry, name) = (wheel.now, wheel.registry, wheel.name)
      let client = try RedisClient(url: wheel.redisURL, timeoutMs: 10_000)
      if canaryShare > 0, let running = try await client.command(["GET", Canary.redisKey]).string {
        throw FunnelError(.failedPrecondition, "a canary is on trial (\((try? Canary(json: running))?.model ?? running)); "
                          + "judge it with `funnel pipeline canary` first")
      }
      let source = ModelRegistrySource(root: registry, name: name)
      let serving = try await source.loadModel()

      let (attributed, exposures, events) = try await ExportTraining.attributed(
        redisURL: wheel.redisURL, sinceMs: now - Int64(days) * 86_400_000, windowMs: wheel.windowMs)
      let lists = attributed.compactMap(LabelledList.init)
      let (train, held) = LabelledList.splitByTime(lists, heldOut: heldOut)
      print("served lists: \(exposures) exposures (\(lists.count) with features), \(events) events; "
            + "training on \(train.count), holding out \(held.count) from \(Self.day(held.first?.timestampMs))")

      let version = try Self.nextVersion(source, registry: registry, name: name)
      let directory = "\(registry)/\(name)/.candidates/\(version)"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let names = serving.schema.names
      let written = try LabelledList.writeCSV(train, names: names, to: directory + "/rows.csv",
                                              shuffleSeed: shuffleLabels ? 0x5eed : nil)
      guard written.lists >= 10 else {
        throw FunnelError(.failedPrecondition, "only \(written.lists) training lists with a click, cart or purchase; nothing to learn from")
      }
      try runTrainer(rows: directory + "/rows.csv", out: directory)
      // The rows are large and rebuilt from the log at will; the registry keeps models, not data.
      try? FileManager.default.removeItem(atPath: directory + "/rows.csv")
      let candidate = try ModelFile.load(path: directory + "/model.txt", version: "\(name)/\(version)")

      let gate = RetrainGate(k: k, margin: margin, minLists: minLists, positionBias: positionBias)
        .evaluate(candidate: candidate, serving: serving, heldOut: held)
      let drift = FeatureDrift.report(names: names, reference: FeatureDrift.rows(of: train, names: names),
                                      sample: FeatureDrift.rows(of: held, names: names))
      try writeReport(gate: gate, drift: drift, candidate: candidate.version, serving: serving.version,
                      trainLists: written.lists, to: directory + "/gate.json")
      print("gate: \(gate.reason); served order \(String(format: "%.4f", gate.servedNDCG))")
      for entry in drift.prefix(5) where entry.psi >= 0.1 {
        print("drift: \(entry.feature) PSI \(String(format: "%.3f", entry.psi)) (\(entry.level))")
      }
      guard gate.passed else {
        print("refused \(candidate.version): see \(directory)/gate.json")
        throw ExitCode(3)
      }
      guard canaryShare > 0 else {
        let promoted = try PipelineCanary.promote(candidateDirectory: directory, registry: registry, name: name)
        print("promoted \(candidate.version) without a canary: \(promoted)")
        return
      }
      let sceneList = scenes.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
      let canary = try Canary(model: candidate.version, path: directory + "/model.txt", share: canaryShare, scenes: sceneList,
                              startedMs: now, control: serving.version)
      guard case .status = try await client.command(["SET", Canary.redisKey, canary.json(), "NX"]) else {
        throw FunnelError(.failedPrecondition, "another canary started meanwhile; \(candidate.version) stays in \(directory)")
      }
      print("canary started: \(candidate.version) for \(Int(canaryShare * 100))% of users against \(serving.version)")
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    } catch let error as RedisError {
      print("error: \(error.message)")
      throw ExitCode(2)
    } catch let error as RankingError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }

  /// One past the largest numeric version in the registry and among its candidates.
  static func nextVersion(_ source: ModelRegistrySource, registry: String, name: String) throws -> Int {
    let candidates = (try? FileManager.default.contentsOfDirectory(atPath: "\(registry)/\(name)/.candidates")) ?? []
    let numbers = (source.versions() + candidates).compactMap { Int($0.split(separator: ".").first ?? "") }
    return (numbers.max() ?? 0) + 1
  }

  func runTrainer(rows: String, out: String) throws {
    try Self.runTrainer(python: python, trainer: trainer, rows: rows, out: out)
  }

  /// Runs `trainer` (Training/train_ranker.py) with `python` on `rows`, writing the model into `out`.
  static func runTrainer(python: String, trainer: String, rows: String, out: String) throws {
    try runPython(python: python, script: trainer, arguments: ["--rows", rows, "--out", out])
  }

  /// Runs `python script arguments...` and waits. Throws `.failedPrecondition` when either is
  /// missing or the script fails (its own output goes to this process's).
  static func runPython(python: String, script trainer: String, arguments: [String]) throws {
    let fm = FileManager.default
    guard fm.isExecutableFile(atPath: python), fm.fileExists(atPath: trainer) else {
      throw FunnelError(.failedPrecondition, "\(python) or \(trainer) is missing (python3 -m venv .venv-training && "
                        + ".venv-training/bin/pip install -r Training/requirements.txt, from the project root)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [trainer] + arguments
    do { try process.run() } catch {
      throw FunnelError(.failedPrecondition, "cannot run \(python): \(error.localizedDescription)")
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw FunnelError(.failedPrecondition, "\(trainer) failed with status \(process.terminationStatus)")
    }
  }

  func writeReport(gate: RetrainGate.Report, drift: [FeatureDrift.Entry], candidate: String, serving: String,
                   trainLists: Int, to path: String) throws {
    let report: [String: Any] = [
      "candidate": candidate, "serving": serving, "passed": gate.passed, "reason": gate.reason, "k": k, "margin": margin, "position_bias": positionBias,
      "candidate_ndcg": gate.candidateNDCG, "serving_ndcg": gate.servingNDCG, "served_ndcg": gate.servedNDCG,
      "held_out_lists": gate.lists, "training_lists": trainLists, "shuffled_labels": shuffleLabels,
      "drift": drift.map { ["feature": $0.feature, "psi": $0.psi, "level": $0.level,
                            "missing_before": $0.missingBefore, "missing_after": $0.missingAfter] as [String: Any] },
    ]
    let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
    guard FileManager.default.createFile(atPath: path, contents: data) else {
      throw FunnelError(.failedPrecondition, "\(path): cannot write the gate report")
    }
  }

  static func day(_ ms: Int64?) -> String {
    guard let ms else { return "-" }
    return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
  }
}
