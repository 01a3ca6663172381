import ArgumentParser
import Evaluation
import Foundation
import FunnelCore
import IndexBuilder

/// The training step of `funnel ingest`: replay the days before the cut-off through the serving
/// pipeline (`TrainingReplay`) and train a ranker into `OUT/models/ranker/VERSION` with
/// `Training/train_ranker.py`, so an ingest leaves both `OUT/index` and `OUT/models`.
struct TrainingOptions: ParsableArguments {
  @Flag(inversion: .prefixedNo, help: "With --until: replay the days before it and train a ranker into OUT/models.")
  var train = true
  @Option(help: "Length of the replayed label window in days.") var trainDays = 30
  @Option(help: "Python with the pinned lightgbm (Training/requirements.txt).") var python = ".venv-training/bin/python"
  @Option(help: "The training script.") var trainer = "Training/train_ranker.py"

  /// Trains when asked and possible; explains (without failing) when the Python side is missing.
  func run(out: String, untilMs: Int64?, scene: Scene) async throws {
    guard train, let untilMs else { return }
    let fm = FileManager.default
    guard fm.isExecutableFile(atPath: python), fm.fileExists(atPath: trainer) else {
      print("no training: \(python) or \(trainer) is missing (python3 -m venv .venv-training && "
            + ".venv-training/bin/pip install -r Training/requirements.txt, from the project root); OUT/models not written")
      return
    }
    guard (1...365).contains(trainDays) else { throw FunnelError(.invalidArgument, "--train-days \(trainDays) must be in 1...365") }
    let (items, _) = try JSONLines.readCatalog(path: out + "/catalog.jsonl")
    let (events, _) = try JSONLines.readEvents(path: out + "/events.jsonl")
    let rows = out + "/replay.csv"
    let summary = try await TrainingReplay(items: items, events: events)
      .write(asOfMs: untilMs - Int64(trainDays) * 86_400_000, untilMs: untilMs, to: rows, scene: scene)
    print("training rows \(rows): \(summary.queries) customers, \(summary.rows) rows, \(summary.positives) positives")
    let version = out + "/models/ranker/\(Int(Date().timeIntervalSince1970))"
    try PipelineRetrain.runTrainer(python: python, trainer: trainer, rows: rows, out: version)
    print("model \(version)/model.txt")
  }
}
