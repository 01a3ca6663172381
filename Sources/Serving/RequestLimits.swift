import Experiments
import FunnelCore
import IndexFormat
import Recall

/// Limits every request is validated against. The values are part of the API contract
/// (documented in `recommender.proto`).
public struct RequestLimits: Hashable, Sendable {
  public var maxCount = 1_000
  public var defaultCount = 20
  public var maxExcludeIDs = 1_000
  public var maxAnchorIDs = 50
  public var maxContextEntries = 32
  public var maxContextKeyBytes = 64
  public var maxContextValueBytes = 256
  public var maxQueryBytes = 512

  /// The documented defaults.
  public init() {}
}
