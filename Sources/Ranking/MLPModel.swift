import DenseMath
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An element-wise activation of an MLP layer.
public enum MLPActivation: String, Sendable, Hashable {
  case relu, sigmoid, tanh
}

/// One step of a compiled MLP. Steps read and write *slots*: dense row-major blocks of
/// `rows x width` floats in a per-call scratch arena.
enum MLPStep: Sendable {
  /// `output = f(input * weightsᵀ + bias)`; `weights` is `outputs x inner` row-major; `f` an
  /// activation fused in (nil: none), applied in place while the block is in cache.
  case linear(input: Int, output: Int, weights: [Float], bias: [Float]?, activation: MLPActivation?)
  /// `output[c] = input[c] * scale[c] + shift[c]` (a BatchNormalization or a bias that could not be folded).
  case affine(input: Int, output: Int, scale: [Float]?, shift: [Float])
  /// `output = left + right`, same widths.
  case add(left: Int, right: Int, output: Int)
  /// `output = f(input)`.
  case activation(MLPActivation, input: Int, output: Int)
  /// `output = [inputs...]` along the feature axis.
  case concat(inputs: [Int], output: Int)
}

/// A compiled feed-forward network: slot widths, which feature columns feed which input slot, the
/// steps in execution order and the one-wide output slot.
struct MLPPlan: Sendable {
  /// Width (columns) of every slot.
  var widths: [Int]
  /// Graph inputs: the slot and the first feature-matrix column it takes (`widths[slot]` columns).
  var inputs: [(slot: Int, column: Int)]
  var steps: [MLPStep]
  var output: Int
}

/// A neural ranking model (a multi-layer perceptron loaded from ONNX, see `ONNXModelLoader`), scored
/// in blocks of `blockRows` candidates with OpenBLAS `sgemm` for the dense layers.
///
/// Missing features (NaN) enter the network as 0: impute the same way when training.
/// Thread-safety: immutable apart from a pool of scratch arenas behind a mutex; `score` may run on
/// many threads at once and allocates only when more threads score at once than ever before.
public final class MLPModel: ScoringModel {
  public let version: String
  public let schema: FeatureSchema
  /// Candidates per block: big enough for BLAS to run at speed, small enough to stay in L2.
  public static let blockRows = 256
  let plan: MLPPlan
  private let slotOffsets: [Int]
  private let arenaCount: Int
  private let pool = Mutex<[MLPScratch]>([])

  init(version: String, schema: FeatureSchema, plan: MLPPlan) {
    self.version = version
    self.schema = schema
    self.plan = plan
    var offsets: [Int] = []
    var total = 0
    for width in plan.widths {
      offsets.append(total)
      total += width * Self.blockRows
    }
    slotOffsets = offsets
    arenaCount = max(total, 1)
  }

  /// Number of dense layers (for logs and `funnel model` output).
  public var layerCount: Int {
    plan.steps.reduce(0) { count, step in if case .linear = step { count + 1 } else { count } }
  }

  public func score(_ matrix: FeatureMatrix, into scores: inout [Float]) {
    precondition(matrix.columns == schema.count, "matrix has \(matrix.columns) columns, model \(schema.count)")
    precondition(scores.count >= matrix.rows, "score buffer too small")
    let scratch = pool.withLock { $0.popLast() } ?? MLPScratch(count: arenaCount)
    defer { pool.withLock { $0.append(scratch) } }
    let columns = matrix.columns
    matrix.values.withUnsafeBufferPointer { values in
      scores.withUnsafeMutableBufferPointer { out in
        var start = 0
        while start < matrix.rows {
          let rows = min(Self.blockRows, matrix.rows - start)
          for input in plan.inputs {
            let width = plan.widths[input.slot]
            let destination = scratch.base + slotOffsets[input.slot]
            for row in 0..<rows {
              let source = (start + row) * columns + input.column
              for c in 0..<width {
                let x = values[source + c]
                destination[row * width + c] = x.isNaN ? 0 : x
              }
            }
          }
          for step in plan.steps { run(step, rows: rows, base: scratch.base) }
          let result = scratch.base + slotOffsets[plan.output]
          for row in 0..<rows { out[start + row] = result[row] }
          start += rows
        }
      }
    }
  }

  private func run(_ step: MLPStep, rows: Int, base: UnsafeMutablePointer<Float>) {
    switch step {
    case let .linear(input, output, weights, bias, activation):
      let inner = plan.widths[input], outputs = plan.widths[output]
      let y = base + slotOffsets[output]
      // The bias goes in first and the product is accumulated onto it: no second pass for it.
      if let bias {
        bias.withUnsafeBufferPointer { b in
          for row in 0..<rows { (y + row * outputs).update(from: b.baseAddress!, count: outputs) }
        }
      }
      weights.withUnsafeBufferPointer { w in
        DenseMath.multiplyByTransposed(base + slotOffsets[input], rows: rows, inner: inner,
                                       weights: w.baseAddress!, outputs: outputs, into: y, accumulate: bias != nil)
      }
      if let activation { Self.apply(activation, y, y, count: rows * outputs) }
    case let .affine(input, output, scale, shift):
      let width = plan.widths[output]
      let x = base + slotOffsets[input], y = base + slotOffsets[output]
      shift.withUnsafeBufferPointer { s in
        if let scale {
          scale.withUnsafeBufferPointer { a in
            for row in 0..<rows { for c in 0..<width { y[row * width + c] = x[row * width + c] * a[c] + s[c] } }
          }
        } else {
          for row in 0..<rows { for c in 0..<width { y[row * width + c] = x[row * width + c] + s[c] } }
        }
      }
    case let .add(left, right, output):
      let count = rows * plan.widths[output]
      let a = base + slotOffsets[left], b = base + slotOffsets[right], y = base + slotOffsets[output]
      for i in 0..<count { y[i] = a[i] + b[i] }
    case let .activation(kind, input, output):
      let count = rows * plan.widths[output]
      Self.apply(kind, base + slotOffsets[input], base + slotOffsets[output], count: count)
    case let .concat(inputs, output):
      let width = plan.widths[output]
      let y = base + slotOffsets[output]
      var column = 0
      for input in inputs {
        let w = plan.widths[input], x = base + slotOffsets[input]
        for row in 0..<rows { for c in 0..<w { y[row * width + column + c] = x[row * w + c] } }
        column += w
      }
    }
  }
}

extension MLPModel {
  /// `y[i] = f(x[i])` for `count` floats (`y` may be `x`).
  static func apply(_ kind: MLPActivation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    switch kind {
    case .relu: for i in 0..<count { y[i] = max(x[i], 0) }
    case .sigmoid: for i in 0..<count { y[i] = 1 / (1 + expf(-x[i])) }
    case .tanh: for i in 0..<count { y[i] = tanhf(x[i]) }
    }
  }
}

/// One scratch arena: every slot of a plan for one block of rows. Owned by one `score` call at a time.
final class MLPScratch: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>

  init(count: Int) {
    base = .allocate(capacity: count)
    base.initialize(repeating: 0, count: count)
  }

  deinit { base.deallocate() }
}
