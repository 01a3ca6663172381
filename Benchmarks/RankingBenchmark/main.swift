// Batch scoring of model files over a CSV batch, release build, for Benchmarks/ranking/run.sh:
//   swift build -c release --package-path Benchmarks --product funnel-bench-ranking
//   Benchmarks/.build/release/funnel-bench-ranking MODEL BATCH.csv [REPEATS [LAYOUT]]
// Prints the same JSON as `funnel model bench` (without building the whole server); LAYOUT times a
// tree layout other than the chosen one (`TreeEnsemble.availableLayouts`).
import Ranking

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
  print("usage: funnel-bench-ranking MODEL BATCH.csv [REPEATS [LAYOUT]]")
  exit(64)
}
do {
  let model = try ModelFile.load(path: arguments[1], layout: arguments.count > 4 ? arguments[4] : nil)
  let matrix = try FeatureCSV(path: arguments[2], schema: model.schema).matrix
  print(BatchBenchmark.run(model, matrix, repeats: arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200).json(model: model.version))
} catch {
  print("error: \(error)")
  exit(2)
}

#if canImport(Glibc)
import Glibc
#endif
