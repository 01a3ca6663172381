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
    let columns = matrix.columns
    matrix.values.withUnsafeBufferPointer { values in
      weights.withUnsafeBufferPointer { w in
        for row in 0..<matrix.rows {
          var sum = bias
          let base = row * columns
          for c in 0..<columns {
            let x = values[base + c]
            if !x.isNaN { sum += w[c] * x }
          }
          scores[row] = logistic ? 1 / (1 + _exp(-sum)) : sum
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
