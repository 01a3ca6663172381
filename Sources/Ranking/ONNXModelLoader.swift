import Foundation
import SwiftProtobuf

/// Loads a feed-forward network from an ONNX file (as exported by `torch.onnx.export` or tf2onnx)
/// into an `MLPModel`.
///
/// Supported operators (default domain): Gemm, MatMul and Add with constant weights, Relu, Sigmoid,
/// Tanh, Concat on the feature axis, BatchNormalization (inference mode; folded into the preceding
/// dense layer when it is that layer's only consumer, otherwise a per-column affine step), and the
/// no-ops Identity, Dropout, Flatten(axis 1) and Constant. Anything else is refused with the
/// operator and node named. Graph inputs are `batch x width` float tensors; their columns follow one
/// another in the feature schema, which the model carries in its metadata as `funnel.features`
/// (comma-separated names). The first graph output must be one column wide: the score.
/// Loading is O(model size); nothing is read lazily.
public enum ONNXModelLoader {
  /// The metadata key that lists the model's feature names in input-column order.
  public static let featuresKey = "funnel.features"

  /// Parses and compiles `data`. Throws `RankingError` naming the model and the offending part.
  public static func load(_ data: Data, version: String) throws -> MLPModel {
    let model: Onnx_ModelProto
    do {
      model = try Onnx_ModelProto(serializedBytes: data)
    } catch {
      throw RankingError("model \(version): not an ONNX model (\(error))")
    }
    guard model.hasGraph, !model.graph.node.isEmpty else { throw RankingError("model \(version): the ONNX file has no graph") }
    for opset in model.opsetImport where opset.domain.isEmpty || opset.domain == "ai.onnx" {
      guard opset.version >= 7 else { throw RankingError("model \(version): ONNX opset \(opset.version) is too old (7 or newer)") }
    }
    var compiler = ONNXGraphCompiler(version: version, graph: model.graph)
    let plan = try compiler.compile()
    let names = model.metadataProps.first { $0.key == featuresKey }?.value
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
    let width = plan.inputs.reduce(0) { $0 + plan.widths[$1.slot] }
    guard !names.isEmpty else {
      throw RankingError("model \(version): the ONNX model carries no '\(featuresKey)' metadata (comma-separated feature names, \(width) expected)")
    }
    guard names.count == width else {
      throw RankingError("model \(version): '\(featuresKey)' names \(names.count) features but the graph inputs are \(width) columns wide")
    }
    guard Set(names).count == names.count else { throw RankingError("model \(version): duplicate names in '\(featuresKey)'") }
    return MLPModel(version: version, schema: FeatureSchema(names), plan: plan)
  }
}

/// A constant tensor (initializer or Constant node) as floats.
private struct ConstantTensor {
  var dims: [Int]
  var values: [Float]
}

/// What a tensor name stands for while compiling.
private enum GraphValue {
  case slot(Int)
  case constant(ConstantTensor)
}

/// Walks the nodes of one graph in order (ONNX requires topological order) and emits `MLPStep`s.
private struct ONNXGraphCompiler {
  let version: String
  let graph: Onnx_GraphProto
  var values: [String: GraphValue] = [:]
  var plan = MLPPlan(widths: [], inputs: [], steps: [], output: 0)
  /// The step that produced each slot, for folding biases and batch norms into dense layers.
  var producer: [Int: Int] = [:]
  /// How many node inputs and graph outputs read each tensor name.
  var uses: [String: Int] = [:]

  init(version: String, graph: Onnx_GraphProto) {
    self.version = version
    self.graph = graph
  }

  mutating func compile() throws -> MLPPlan {
    for node in graph.node { for input in node.input where !input.isEmpty { uses[input, default: 0] += 1 } }
    for output in graph.output { uses[output.name, default: 0] += 1 }
    for tensor in graph.initializer { values[tensor.name] = .constant(try constant(tensor, what: "initializer")) }
    var column = 0
    for input in graph.input where values[input.name] == nil {
      let type = input.type.tensorType
      guard type.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
        throw error("input '\(input.name)' is not a float tensor")
      }
      let dims = type.shape.dim
      guard dims.count == 2, dims[1].dimValue > 0 else {
        throw error("input '\(input.name)' must be a batch x width tensor with a fixed width")
      }
      let slot = newSlot(width: Int(dims[1].dimValue))
      plan.inputs.append((slot: slot, column: column))
      values[input.name] = .slot(slot)
      column += Int(dims[1].dimValue)
    }
    guard !plan.inputs.isEmpty else { throw error("the graph has no non-constant input") }
    for node in graph.node { try compile(node) }
    guard let output = graph.output.first, case .slot(let slot)? = values[output.name] else {
      throw error("the graph output is missing or constant")
    }
    guard plan.widths[slot] == 1 else { throw error("output '\(output.name)' is \(plan.widths[slot]) wide; a score must be 1 wide") }
    plan.output = slot
    return plan
  }

  private mutating func compile(_ node: Onnx_NodeProto) throws {
    let label = "\(node.opType) node '\(node.name.isEmpty ? node.output.first ?? "?" : node.name)'"
    guard node.domain.isEmpty || node.domain == "ai.onnx" else { throw error("\(label): operator domain '\(node.domain)' is not supported") }
    guard let out = node.output.first, !out.isEmpty else { throw error("\(label) has no output") }
    switch node.opType {
    case "Gemm":
      guard int(node, "transA", 0) == 0 else { throw error("\(label): transA = 1 is not supported") }
      let x = try slot(node, 0, label), b = try constantInput(node, 1, label)
      let alpha = float(node, "alpha", 1), beta = float(node, "beta", 1)
      guard b.dims.count == 2 else { throw error("\(label): B must be a matrix") }
      let transposed = int(node, "transB", 0) != 0
      let (outputs, inner) = transposed ? (b.dims[0], b.dims[1]) : (b.dims[1], b.dims[0])
      var weights = transposed ? b.values : transpose(b.values, rows: inner, columns: outputs)
      if alpha != 1 { weights = weights.map { $0 * alpha } }
      var bias: [Float]? = nil
      if node.input.count > 2, !node.input[2].isEmpty {
        bias = try broadcast(try constantInput(node, 2, label), to: outputs, label).map { $0 * beta }
      }
      try linear(out, x, inner: inner, outputs: outputs, weights: weights, bias: bias, label)
    case "MatMul":
      let x = try slot(node, 0, label), b = try constantInput(node, 1, label)
      guard b.dims.count == 2 else { throw error("\(label): the weight must be a matrix") }
      try linear(out, x, inner: b.dims[0], outputs: b.dims[1], weights: transpose(b.values, rows: b.dims[0], columns: b.dims[1]),
                 bias: nil, label)
    case "Add":
      try add(node, out, label)
    case "BatchNormalization":
      guard int(node, "training_mode", 0) == 0 else { throw error("\(label): training mode is not supported") }
      guard node.output.count == 1 || node.output.dropFirst().allSatisfy({ $0.isEmpty || uses[$0] == nil }) else {
        throw error("\(label): running-statistics outputs are not supported")
      }
      let x = try slot(node, 0, label), width = plan.widths[x]
      let scale = try broadcast(try constantInput(node, 1, label), to: width, label)
      let shift = try broadcast(try constantInput(node, 2, label), to: width, label)
      let mean = try broadcast(try constantInput(node, 3, label), to: width, label)
      let variance = try broadcast(try constantInput(node, 4, label), to: width, label)
      let epsilon = Double(float(node, "epsilon", 1e-5))
      let a = (0..<width).map { Double(scale[$0]) / (Double(variance[$0]) + epsilon).squareRoot() }
      let b = (0..<width).map { Double(shift[$0]) - Double(mean[$0]) * a[$0] }
      scaleAndShift(out, x, node.input[0], scale: a, shift: b)
    case "Relu", "Sigmoid", "Tanh":
      let x = try slot(node, 0, label)
      let kind: MLPActivation = node.opType == "Relu" ? .relu : node.opType == "Sigmoid" ? .sigmoid : .tanh
      // Fused into the dense layer that produced x when nothing else reads x.
      if uses[node.input[0]] == 1, let index = producer[x],
         case let .linear(input, output, weights, bias, nil) = plan.steps[index] {
        plan.steps[index] = .linear(input: input, output: output, weights: weights, bias: bias, activation: kind)
        values[out] = .slot(x)
        return
      }
      let y = newSlot(width: plan.widths[x])
      plan.steps.append(.activation(kind, input: x, output: y))
      values[out] = .slot(y)
    case "Concat":
      let axis = int(node, "axis", Int.min)
      guard axis == 1 || axis == -1 else { throw error("\(label): only axis 1 (features) is supported, not \(axis)") }
      let inputs = try node.input.indices.map { try slot(node, $0, label) }
      let y = newSlot(width: inputs.reduce(0) { $0 + plan.widths[$1] })
      plan.steps.append(.concat(inputs: inputs, output: y))
      values[out] = .slot(y)
    case "Identity", "Dropout":
      guard node.output.dropFirst().allSatisfy({ $0.isEmpty || uses[$0] == nil }) else { throw error("\(label): the mask output is not supported") }
      values[out] = try passThrough(node, label)
    case "Flatten":
      guard int(node, "axis", 1) == 1 else { throw error("\(label): only axis 1 is supported") }
      values[out] = try passThrough(node, label)
    case "Constant":
      guard let value = node.attribute.first(where: { $0.name == "value" }), value.hasT else {
        throw error("\(label): only tensor-valued constants are supported")
      }
      values[out] = .constant(try constant(value.t, what: label))
    default:
      throw error("ONNX operator '\(node.opType)' (node '\(node.name)') is not supported; supported: Gemm, MatMul, Add, "
                  + "Relu, Sigmoid, Tanh, Concat, BatchNormalization, Identity, Dropout, Flatten, Constant")
    }
  }

  /// `Add` of an activation and a constant row (a bias, folded into the dense layer before it when
  /// possible), or of two activations of the same width.
  private mutating func add(_ node: Onnx_NodeProto, _ out: String, _ label: String) throws {
    guard node.input.count == 2 else { throw error("\(label) needs two inputs") }
    switch (values[node.input[0]], values[node.input[1]]) {
    case let (.slot(a)?, .slot(b)?):
      guard plan.widths[a] == plan.widths[b] else { throw error("\(label): widths \(plan.widths[a]) and \(plan.widths[b]) differ") }
      let y = newSlot(width: plan.widths[a])
      plan.steps.append(.add(left: a, right: b, output: y))
      values[out] = .slot(y)
    case let (.slot(x)?, .constant(c)?), let (.constant(c)?, .slot(x)?):
      let name: String
      if case .slot? = values[node.input[0]] { name = node.input[0] } else { name = node.input[1] }
      let shift = try broadcast(c, to: plan.widths[x], label).map(Double.init)
      scaleAndShift(out, x, name, scale: nil, shift: shift)
    default:
      throw error("\(label): inputs must be computed tensors or constants")
    }
  }

  /// Emits `y = x * scale + shift` per column, folded into the dense layer that produced `x` when
  /// nothing else reads `x`.
  private mutating func scaleAndShift(_ out: String, _ x: Int, _ xName: String, scale: [Double]?, shift: [Double]) {
    // Only into a layer without a fused activation: a scale after f cannot move before it.
    if uses[xName] == 1, let index = producer[x], case let .linear(input, output, weights, bias, nil) = plan.steps[index] {
      let inner = plan.widths[input], width = plan.widths[output]
      var folded = weights
      var newBias = [Float](repeating: 0, count: width)
      for n in 0..<width {
        let a = scale?[n] ?? 1
        if scale != nil { for k in 0..<inner { folded[n * inner + k] = Float(Double(weights[n * inner + k]) * a) } }
        newBias[n] = Float(Double(bias?[n] ?? 0) * a + shift[n])
      }
      plan.steps[index] = .linear(input: input, output: output, weights: folded, bias: newBias, activation: nil)
      values[out] = .slot(x)
      return
    }
    let y = newSlot(width: plan.widths[x])
    plan.steps.append(.affine(input: x, output: y, scale: scale?.map { Float($0) }, shift: shift.map { Float($0) }))
    values[out] = .slot(y)
  }

  private mutating func linear(_ out: String, _ x: Int, inner: Int, outputs: Int, weights: [Float], bias: [Float]?, _ label: String) throws {
    guard inner == plan.widths[x] else { throw error("\(label): weights expect \(inner) inputs, the tensor is \(plan.widths[x]) wide") }
    guard weights.allSatisfy(\.isFinite), bias?.allSatisfy(\.isFinite) ?? true else { throw error("\(label): weights must be finite") }
    let y = newSlot(width: outputs)
    producer[y] = plan.steps.count
    plan.steps.append(.linear(input: x, output: y, weights: weights, bias: bias, activation: nil))
    values[out] = .slot(y)
  }

  private mutating func newSlot(width: Int) -> Int {
    plan.widths.append(width)
    return plan.widths.count - 1
  }

  private func slot(_ node: Onnx_NodeProto, _ index: Int, _ label: String) throws -> Int {
    guard index < node.input.count, case .slot(let slot)? = values[node.input[index]] else {
      throw error("\(label): input \(index) must be a computed tensor defined earlier in the graph")
    }
    return slot
  }

  /// The value of a node's first input, computed or constant (for Identity-like nodes; PyTorch
  /// passes shared weights through Identity).
  private func passThrough(_ node: Onnx_NodeProto, _ label: String) throws -> GraphValue {
    guard let name = node.input.first, let value = values[name] else { throw error("\(label): its input is not defined earlier in the graph") }
    return value
  }

  private func constantInput(_ node: Onnx_NodeProto, _ index: Int, _ label: String) throws -> ConstantTensor {
    guard index < node.input.count, case .constant(let tensor)? = values[node.input[index]] else {
      throw error("\(label): input \(index) must be a constant (initializer)")
    }
    return tensor
  }

  private func broadcast(_ tensor: ConstantTensor, to width: Int, _ label: String) throws -> [Float] {
    if tensor.values.count == width { return tensor.values }
    if tensor.values.count == 1 { return [Float](repeating: tensor.values[0], count: width) }
    throw error("\(label): a constant of \(tensor.values.count) values does not fit \(width) columns")
  }

  private func constant(_ tensor: Onnx_TensorProto, what: String) throws -> ConstantTensor {
    let name = "\(what) '\(tensor.name)'"
    guard tensor.dataLocation != .external else { throw error("\(name) uses external data; save the model with the weights inside") }
    let dims = tensor.dims.map { Int($0) }
    guard dims.allSatisfy({ $0 >= 0 }) else { throw error("\(name) has a negative dimension") }
    let count = dims.reduce(1, *)
    var values: [Float]
    switch tensor.dataType {
    case Int32(Onnx_TensorProto.DataType.float.rawValue):
      values = tensor.hasRawData ? tensor.rawData.withUnsafeBytes { raw in
        (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
      } : tensor.floatData
    case Int32(Onnx_TensorProto.DataType.double.rawValue):
      values = tensor.hasRawData ? tensor.rawData.withUnsafeBytes { raw in
        (0..<raw.count / 8).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
      } : tensor.doubleData.map { Float($0) }
    default:
      throw error("\(name) has element type \(tensor.dataType); only float and double constants are supported")
    }
    guard values.count == count else { throw error("\(name) holds \(values.count) values for shape \(dims)") }
    return ConstantTensor(dims: dims, values: values)
  }

  private func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    for r in 0..<rows { for c in 0..<columns { result[c * rows + r] = values[r * columns + c] } }
    return result
  }

  private func int(_ node: Onnx_NodeProto, _ name: String, _ fallback: Int) -> Int {
    node.attribute.first { $0.name == name }.map { Int($0.i) } ?? fallback
  }

  private func float(_ node: Onnx_NodeProto, _ name: String, _ fallback: Float) -> Float {
    node.attribute.first { $0.name == name }?.f ?? fallback
  }

  private func error(_ message: String) -> RankingError { RankingError("model \(version): \(message)") }
}
