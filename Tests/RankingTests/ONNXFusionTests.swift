import Foundation
@testable import Ranking
import Testing

/// What the ONNX compiler may fuse and fold: an activation joins the dense layer before it, and a
/// batch norm joins a dense layer only when no activation lies between them (a scale after ReLU
/// cannot move before it: with a negative scale, relu(x) * -1 is not relu(-x)). Graphs built here,
/// node by node, so each shape is exactly the one under test; answers computed by hand in doubles.
@Suite struct ONNXFusionTests {
  static func tensor(_ name: String, _ dims: [Int64], _ values: [Float]) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dims = dims
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.floatData = values
    return t
  }

  static func node(_ op: String, _ inputs: [String], _ output: String, ints: [String: Int64] = [:]) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.opType = op
    n.name = output
    n.input = inputs
    n.output = [output]
    for (name, value) in ints {
      var a = Onnx_AttributeProto()
      a.name = name
      a.type = .int
      a.i = value
      n.attribute.append(a)
    }
    return n
  }

  /// x (2 wide) -> Gemm(W1, b1) -> Relu -> BatchNormalization(scale, shift, mean, var) -> Gemm(w2) -> score.
  static func model() throws -> MLPModel {
    var graph = Onnx_GraphProto()
    var input = Onnx_ValueInfoProto()
    input.name = "x"
    var type = Onnx_TypeProto()
    type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    var batch = Onnx_TensorShapeProto.Dimension(), width = Onnx_TensorShapeProto.Dimension()
    batch.dimParam = "batch"
    width.dimValue = 2
    type.tensorType.shape.dim = [batch, width]
    input.type = type
    graph.input = [input]
    var output = Onnx_ValueInfoProto()
    output.name = "score"
    graph.output = [output]
    graph.initializer = [
      tensor("W1", [2, 2], [1, -1, 0.5, 2]), tensor("b1", [2], [0.25, -0.5]),
      tensor("scale", [2], [-2, 3]), tensor("shift", [2], [1, -1]), tensor("mean", [2], [0.5, 0]), tensor("var", [2], [4, 1]),
      tensor("W2", [1, 2], [1, 1]),
    ]
    graph.node = [
      node("Gemm", ["x", "W1", "b1"], "h", ints: ["transB": 1]),
      node("Relu", ["h"], "r"),
      node("BatchNormalization", ["r", "scale", "shift", "mean", "var"], "n"),
      node("Gemm", ["n", "W2"], "score", ints: ["transB": 1]),
    ]
    var model = Onnx_ModelProto()
    model.graph = graph
    var opset = Onnx_OperatorSetIdProto()
    opset.version = 17
    model.opsetImport = [opset]
    var features = Onnx_StringStringEntryProto()
    features.key = ONNXModelLoader.featuresKey
    features.value = "a,b"
    model.metadataProps = [features]
    return try ONNXModelLoader.load(try model.serializedData(), version: "fusion-test")
  }

  /// The network in doubles, as written.
  static func expected(_ a: Double, _ b: Double) -> Double {
    let h0: Double = a - b + 0.25
    let h1: Double = 0.5 * a + 2 * b - 0.5
    let r0 = max(h0, 0), r1 = max(h1, 0)
    let n0: Double = (r0 - 0.5) / (4.0 + 1e-5).squareRoot() * -2 + 1
    let n1: Double = r1 / (1.0 + 1e-5).squareRoot() * 3 - 1
    return n0 + n1
  }

  @Test func aBatchNormAfterAnActivationIsNotFoldedBeforeIt() throws {
    let mlp = try Self.model()
    #expect(mlp.layerCount == 2)
    // Relu fused into the first layer; the batch norm stays a step of its own.
    #expect(mlp.plan.steps.contains { if case .affine = $0 { true } else { false } }, "\(mlp.plan.steps)")
    let rows: [(Float, Float)] = [(1, 0), (-1, 2), (0.3, -0.7), (2, 2), (-3, -1), (0, 0)]
    var matrix = FeatureMatrix(columns: 2)
    matrix.reset(rows: rows.count)
    for (r, row) in rows.enumerated() { (matrix[r, 0], matrix[r, 1]) = row }
    var scores = [Float](repeating: .nan, count: rows.count)
    mlp.score(matrix, into: &scores)
    for (r, row) in rows.enumerated() {
      let want = Self.expected(Double(row.0), Double(row.1))
      #expect(abs(Double(scores[r]) - want) <= 1e-5 * max(1, abs(want)), "row \(r): \(scores[r]) vs \(want)")
    }
  }
}
