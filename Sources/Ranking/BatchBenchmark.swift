/// Times batch scoring the way serving uses it (one `FeatureMatrix`, single-threaded, reused
/// buffers). Shared by `funnel model bench` and `Benchmarks/RankingBenchmark`.
public enum BatchBenchmark {
  /// Latency of scoring one batch.
  public struct Result: Sendable {
    public var rows: Int
    public var columns: Int
    /// Trees of an ensemble; 0 for other models (no per-tree figure then).
    public var trees: Int
    public var repeats: Int
    public var medianMicros: Double
    public var p99Micros: Double
    /// The tree layout scored (`TreeEnsemble.layout`), empty for other models.
    public var layout = ""
    /// The CPU model and the vector kernels this CPU takes (benchmark figures name their machine).
    public var machine = "\(CPUFeatures.model), \(CPUFeatures.vectorClass)"
    /// Median nanoseconds per (row x tree).
    public var nanosPerRowTree: Double { medianMicros * 1000 / Double(max(1, rows * trees)) }

    /// The result as one JSON object.
    public func json(model: String) -> String {
      let perTree = trees > 0 ? ",\"trees\":\(trees),\"layout\":\"\(layout)\",\"ns_per_row_tree\":\(nanosPerRowTree)" : ""
      return "{\"model\":\"\(model)\",\"machine\":\"\(machine)\",\"rows\":\(rows),\"features\":\(columns),\"repeat\":\(repeats),"
        + "\"median_us\":\(medianMicros),\"p99_us\":\(p99Micros),\"ns_per_row\":\(medianMicros * 1000 / Double(max(1, rows)))\(perTree)}"
    }
  }

  /// Scores `matrix` with `model` `repeats` times after a warm-up; O(repeats * rows * trees * depth).
  public static func run(_ model: any ScoringModel, _ matrix: FeatureMatrix, repeats: Int) -> Result {
    var scores = [Float](repeating: 0, count: matrix.rows)
    for _ in 0..<max(3, repeats / 10) { model.score(matrix, into: &scores) }
    let clock = ContinuousClock()
    var samples: [Double] = []
    samples.reserveCapacity(repeats)
    for _ in 0..<max(1, repeats) {
      let start = clock.now
      model.score(matrix, into: &scores)
      let d = clock.now - start
      samples.append(Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12)
    }
    samples.sort()
    var result = Result(rows: matrix.rows, columns: matrix.columns, trees: (model as? TreeEnsemble)?.treeCount ?? 0,
                        repeats: samples.count, medianMicros: samples[samples.count / 2],
                        p99Micros: samples[min(samples.count - 1, samples.count * 99 / 100)])
    result.layout = (model as? TreeEnsemble)?.layout ?? ""
    return result
  }
}
