import ArgumentParser
import Foundation
import Ranking

/// `funnel model`: score and benchmark ranking models offline.
struct Model: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Score a CSV with a model, or benchmark its batch scoring.", subcommands: [ModelScore.self, ModelBench.self])
}

struct ModelScore: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "score",
    abstract: "Score every row of a CSV (header of feature names, empty cell = missing) and write one score per line.")
  @Option(help: "XGBoost JSON, LightGBM text or funnel-linear JSON model.") var model: String
  @Option(help: "Input CSV.") var input: String
  @Option(help: "Output CSV (header 'score').") var output: String

  func run() async throws {
    do {
      let loaded = try ModelFile.load(path: model)
      let batch = try FeatureCSV(path: input, schema: loaded.schema)
      var scores: [Double]
      if let trees = loaded as? TreeEnsemble {
        // Double-precision inputs, as the training libraries' own predict receives them.
        scores = batch.rows.map { trees.predict(doubles: $0) }
      } else {
        var buffer = [Float](repeating: 0, count: batch.rows.count)
        loaded.score(batch.matrix, into: &buffer)
        scores = buffer.map(Double.init)
      }
      try (["score"] + scores.map { "\($0)" }).joined(separator: "\n").appending("\n")
        .write(toFile: output, atomically: true, encoding: .utf8)
      if !batch.absentFeatures.isEmpty {
        print("note: \(batch.absentFeatures.count) model features are not in the file and were scored as missing: "
              + batch.absentFeatures.prefix(10).joined(separator: ", "))
      }
      print("scored \(scores.count) rows with \(loaded.version) into \(output)")
    } catch let error as RankingError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}

struct ModelBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Time batch scoring of a CSV (the serving hot loop); prints JSON.")
  @Option(help: "Model file.") var model: String
  @Option(help: "Input CSV (one batch).") var input: String
  @Option(help: "Timed repetitions.") var `repeat` = 200
  @Option(help: "Tree layout to time instead of the one chosen (complete, complete-avx2, complete-portable, quickscorer, quickscorer-avx2, quickscorer-portable, flat, packed).")
  var layout: String?

  func run() async throws {
    do {
      let loaded = try ModelFile.load(path: model, layout: layout)
      let matrix = try FeatureCSV(path: input, schema: loaded.schema).matrix
      print(BatchBenchmark.run(loaded, matrix, repeats: `repeat`).json(model: loaded.version))
    } catch let error as RankingError {
      print("error: \(error.message)")
      throw ExitCode(2)
    }
  }
}
