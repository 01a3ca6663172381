/// A model that scores every row of a feature matrix. Implementations are immutable and safe to
/// share across threads; `score` is synchronous, single-threaded and must not allocate.
public protocol ScoringModel: Sendable {
  /// Identifies the model in answers, e.g. `builtin-linear-v2`.
  var version: String { get }
  /// The columns the model reads, in order.
  var schema: FeatureSchema { get }
  /// Writes one score per row of `matrix` into `scores[0..<matrix.rows]`.
  /// Precondition: `matrix.columns == schema.count` and `scores.count >= matrix.rows`.
  func score(_ matrix: FeatureMatrix, into scores: inout [Float])
}

/// A linear model, optionally squashed by the logistic function: `sigmoid(bias + sum w_i * x_i)`.
/// Missing values (NaN) contribute nothing. O(rows * columns).
public struct LinearModel: ScoringModel {
  public let version: String
  public let schema: FeatureSchema
  /// One weight per schema column.
  public let weights: [Float]
  public let bias: Float
  /// Whether to apply the logistic function (probability output).
  public let logistic: Bool

  /// Creates a model. Throws if the weights do not match the schema.
  public init(version: String, schema: FeatureSchema, weights: [Float], bias: Float, logistic: Bool) throws {
    guard weights.count == schema.count else {
      throw RankingError("model \(version): \(weights.count) weights for \(schema.count) features")
    }
    guard weights.allSatisfy(\.isFinite), bias.isFinite else {
      throw RankingError("model \(version): weights must be finite numbers")
    }
    self.version = version
    self.schema = schema
    self.weights = weights
    self.bias = bias
    self.logistic = logistic
  }

  public func score(_ matrix: FeatureMatrix, into scores: inout [Float]) {
    precondition(matrix.columns == weights.count, "matrix has \(matrix.columns) columns, model \(weights.count)")
    precondition(scores.count >= matrix.rows, "score buffer too small")
    let (columns, rows, bias, logistic) = (matrix.columns, matrix.rows, self.bias, self.logistic)
    matrix.values.withUnsafeBufferPointer { values in
      weights.withUnsafeBufferPointer { w in
        scores.withUnsafeMutableBufferPointer { out in
          guard let x = values.baseAddress else { return }
          // Eight rows at a time, one lane each: a column's eight cells (a stride apart) are added
          // in the same order as the one-row loop below, so every score is the same bit for bit.
          var row = 0
          while row + 8 <= rows {
            var sum = SIMD8<Float>(repeating: bias)
            var cell = x + row * columns
            for c in 0..<columns {
              let v = SIMD8<Float>(cell[0], cell[columns], cell[2 * columns], cell[3 * columns],
                                   cell[4 * columns], cell[5 * columns], cell[6 * columns], cell[7 * columns])
              // A missing value (NaN) adds nothing.
              sum.replace(with: sum + SIMD8(repeating: w[c]) * v, where: v .== v)
              cell += 1
            }
            for lane in 0..<8 { out[row + lane] = logistic ? 1 / (1 + _exp(-sum[lane])) : sum[lane] }
            row += 8
          }
          while row < rows {
            var sum = bias
            let base = row * columns
            for c in 0..<columns {
              let v = values[base + c]
              if !v.isNaN { sum += w[c] * v }
            }
            out[row] = logistic ? 1 / (1 + _exp(-sum)) : sum
            row += 1
          }
        }
      }
    }
  }
}

/// An error loading or building a model, with a message naming the model and the problem.
public struct RankingError: Error, Hashable, Sendable, CustomStringConvertible {
  public let message: String
  /// Creates an error with `message`.
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

@inline(__always) private func _exp(_ x: Float) -> Float {
  #if canImport(Glibc)
  return Glibc.expf(x)
  #else
  return Darwin.expf(x)
  #endif
}
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
