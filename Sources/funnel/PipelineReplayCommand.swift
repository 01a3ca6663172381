import ArgumentParser
import Evaluation
import Foundation
import FunnelCore
import IndexBuilder
import Ingest
import Ranking
import Serving

/// `funnel pipeline replay`: the wheel on a simulated clock, against the engine frozen at day one.
struct PipelineReplay: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract: "Replay a data set day by day: the wheel (daily rebuilds, gated retraining) against the same engine frozen at day one.",
    discussion: """
      Reads DIR/catalog.jsonl and DIR/events.jsonl (`funnel ingest`). Day one's ranker is trained on the candidates of \
      the 30 days before --start (Training/train_ranker.py); both engines start from it and from the generation \
      built as of --start, and both see every event of the days before as a live history. The wheel rebuilds \
      every --rebuild-every days (validated) and retrains every --retrain-every days on the candidates of \
      --train-days days before its last --held-out-days, keeping the new ranker only when the offline gate passes. \
      Prints NDCG@K of both engines' answers each day (customers who buy that day, against what they bought) and the \
      means; --out writes them as JSON.
      """)

  @Option(help: "Directory written by `funnel ingest`.") var data: String
  @Option(help: "First replayed day (YYYY-MM-DD).") var start: String
  @Option(help: "Days replayed.") var days = 30
  @Option(help: "Days between rebuilds.") var rebuildEvery = 1
  @Option(help: "Days between retrainings.") var retrainEvery = 7
  @Option(help: "Days of candidates a retraining learns from.") var trainDays = 23
  @Option(help: "Newest days a retraining holds out for the gate.") var heldOutDays = 7
  @Option(help: "The gate's margin.") var margin = 0.01
  @Option(help: "NDCG cut-off.") var k = 20
  @Option(help: "Scene asked (as in `funnel eval`).") var scene = "email"
  @Option(help: "Python with the pinned lightgbm (Training/requirements.txt).") var python = ".venv-training/bin/python"
  @Option(help: "The training script.") var trainer = "Training/train_ranker.py"
  @Option(help: "Write the days as JSON here.") var out: String?

  func run() async throws {
    do {
      guard (1...366).contains(days), rebuildEvery >= 1, retrainEvery >= 1, trainDays >= 1, heldOutDays >= 1 else {
        throw FunnelError(.invalidArgument, "--days must be in 1...366 and every period at least 1 day")
      }
      let startMs = try IngestData.parseDay(start)
      let (items, _) = try JSONLines.readCatalog(path: data + "/catalog.jsonl")
      let (events, _) = try JSONLines.readEvents(path: data + "/events.jsonl")
      var schedule = FlywheelReplay.Schedule(startMs: startMs, days: days)
      (schedule.rebuildEvery, schedule.retrainEvery, schedule.trainDays, schedule.heldOutDays) = (rebuildEvery, retrainEvery, trainDays, heldOutDays)
      (schedule.margin, schedule.k, schedule.scene) = (margin, k, try Eval.scene(scene))
      let work = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-replay-\(UUID().uuidString)").path
      try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: work) }
      let (python, trainer) = (self.python, self.trainer)
      let train: @Sendable ([LabelledList], String) async throws -> any ScoringModel = { lists, version in
        let directory = work + "/" + version
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try LabelledList.writeCSV(lists, names: TrainingReplay.schema.names, to: directory + "/rows.csv", positions: false)
        try PipelineRetrain.runTrainer(python: python, trainer: trainer, rows: directory + "/rows.csv", out: directory)
        return try ModelFile.load(path: directory + "/model.txt", version: "ranker/" + version)
      }
      let dayMs: Int64 = 86_400_000
      let initialLists = try await TrainingReplay(items: items, events: events)
        .lists(asOfMs: startMs - 30 * dayMs, untilMs: startMs, scene: schedule.scene).lists
      let initial = try await train(initialLists, "day-0")
      print("day one's ranker: \(initial.version), trained on \(initialLists.count) customers' candidates")
      print("| day | customers | NDCG@\(k) frozen | NDCG@\(k) wheel | wheel |")
      print("| --- | --- | --- | --- | --- |")
      let result = try await FlywheelReplay(items: items, events: events).run(schedule, initial: initial, train: train) { day in
        print("| \(day.day) | \(day.customers) | \(String(format: "%.4f", day.frozenNDCG)) | \(String(format: "%.4f", day.wheelNDCG)) | "
              + "\(day.model); \(day.actions.joined(separator: "; ")) |")
      }
      func mean(_ days: ArraySlice<FlywheelReplay.Day>, _ value: (FlywheelReplay.Day) -> Double) -> Double {
        let customers = days.reduce(0) { $0 + $1.customers }
        return customers == 0 ? 0 : days.reduce(0) { $0 + value($1) * Double($1.customers) } / Double(customers)
      }
      let all = result[...]
      let lastWeek = result.suffix(7)
      print(String(format: "all days (per customer): frozen %.4f, wheel %.4f; last 7 days: frozen %.4f, wheel %.4f",
                   mean(all, \.frozenNDCG), mean(all, \.wheelNDCG), mean(lastWeek, \.frozenNDCG), mean(lastWeek, \.wheelNDCG)))
      if let out {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: URL(fileURLWithPath: out))
      }
    } catch let error as FunnelError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
