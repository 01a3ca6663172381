import Foundation
import NIOPosix
import FunnelCore
import Ranking
import Serving

/// A model registry on disk: `ROOT/NAME/VERSION/` holds one model file (`model.json` for XGBoost or
/// funnel-linear, `model.txt` for LightGBM, `model.onnx` for an MLP) and optionally `metadata.json`. The newest version is the
/// largest (numerically when every version is a number, else by name). The served model's version
/// string is `NAME/VERSION`. Thread-safe.
public struct ModelRegistrySource: ModelSource {
  public let root: String
  public let name: String

  /// A registry of model `name` under `root`.
  public init(root: String, name: String) {
    self.root = root
    self.name = name
  }

  /// Version directories of the model, oldest first.
  public func versions() -> [String] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + name)) ?? []).filter { !$0.hasPrefix(".") }
    if names.allSatisfy({ Int($0) != nil }) { return names.sorted { Int($0)! < Int($1)! } }
    return names.sorted()
  }

  /// `NAME/VERSION` of the newest version, or nil.
  public var newestVersion: String? { versions().last.map { name + "/" + $0 } }

  /// Reading and parsing a model runs on NIO's blocking-I/O thread pool, off the cooperative pool.
  public func loadModel() async throws -> any ScoringModel {
    let registry = self
    return try await NIOThreadPool.singleton.runIfActive { try registry.loadModelNow() }
  }

  private func loadModelNow() throws -> any ScoringModel {
    guard let version = versions().last else {
      throw FunnelError(.notFound, "\(root)/\(name): no model versions (expected \(root)/\(name)/VERSION/model.json, model.txt or model.onnx)")
    }
    let directory = root + "/" + name + "/" + version
    guard let file = ["model.json", "model.txt", "model.onnx"].map({ directory + "/" + $0 }).first(where: FileManager.default.fileExists) else {
      throw FunnelError(.failedPrecondition, "\(directory): holds no model.json, model.txt or model.onnx")
    }
    do {
      return try ModelFile.load(path: file, version: name + "/" + version)
    } catch let error as RankingError {
      throw FunnelError(.failedPrecondition, error.message)
    }
  }
}
