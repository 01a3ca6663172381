import Foundation
import FunnelCore

/// Business re-ranking rules from the request context, applied by `RerankStage` after the model:
/// boosts multiply the scores of items of a brand or category, pins put named items first in order.
///
/// Context keys: `boost.brand.NAME` / `boost.category.PATH` = factor in (0, 10] (below 1 demotes),
/// `pin` = up to 10 comma-separated item ids. Parsed and validated with the request.
public struct BusinessRules: Hashable, Sendable {
  /// (field, value, factor) of every boost.
  public var boosts: [Boost] = []
  /// Item ids to put first, in order.
  public var pins: [ItemID] = []

  /// One boost.
  public struct Boost: Hashable, Sendable {
    public var field: String
    public var value: String
    public var factor: Float
  }

  /// Most pinned items per request.
  public static let maxPins = 10

  /// No rules.
  public init() {}

  /// Reads the rules out of `context`; other keys are ignored. Throws `invalidArgument` naming the key.
  public init(context: [String: String]) throws {
    for (key, value) in context.sorted(by: { $0.key < $1.key }) {
      if key == "pin" {
        pins = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard pins.count <= Self.maxPins else {
          throw FunnelError.invalidArgument(field: "context[pin]", "\(pins.count) items, more than \(Self.maxPins)")
        }
        continue
      }
      guard key.hasPrefix("boost.") else { continue }
      let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
      guard parts.count == 3, ["brand", "category"].contains(parts[1]), !parts[2].isEmpty else {
        throw FunnelError.invalidArgument(field: "context[\(key)]", "boosts are boost.brand.NAME or boost.category.PATH")
      }
      guard let factor = Float(value), factor > 0, factor <= 10 else {
        throw FunnelError.invalidArgument(field: "context[\(key)]", "'\(value)' is not a factor in (0, 10]")
      }
      boosts.append(Boost(field: parts[1], value: parts[2].lowercased(), factor: factor))
    }
  }

  /// Whether there is anything to apply.
  public var isEmpty: Bool { boosts.isEmpty && pins.isEmpty }
}
