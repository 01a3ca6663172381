import Experiments
import FunnelCore

/// How the stages treat one request, decided once from its scene, the configuration and its
/// experiment arm: the recall quotas, which items it may not show, how it re-ranks. The stages read
/// this plan and never the scene itself, so search and recommend run the same stages.
struct ScenePlan: Sendable {
  /// Candidates per recall channel (0 skips a channel).
  var quotas: ServingConfiguration.Quotas
  /// Whether items the user bought are dropped (discovery scenes: no repeat-purchase channel).
  var dropsPurchases: Bool
  /// Whether the model's order is kept as it is (search: relevance is the point) instead of spreading
  /// categories; product groups are de-duplicated either way.
  var keepsRelevanceOrder: Bool
  /// Items of one leaf category before others are preferred (when categories are spread).
  var maxPerCategory: Int
  /// How many of the text matches the model ranks (0: all); only with the relevance order.
  var firstPhase: Int
  /// Whether an anchor that is not in the catalog fails the request (an item page's anchor must exist).
  var requiresAnchors: Bool
  /// A search sorted by a key: the candidates are the page in order, and neither the model nor
  /// boosts, bandits or pins reorder them.
  var keyedOrder = false
  /// A relevance page after the first: how many ranked items come before it.
  var pageOffset = 0

  /// The plan of `scene` under `configuration`, with `arm`'s overrides. `count` is the answer's
  /// length: diversity allows at least a fifth of it per category.
  init(scene: Scene, configuration: ServingConfiguration, arm: ExperimentPlan.Arm?, count: Int) {
    var quotas = configuration.quotas[scene] ?? .init(similar: 0, category: 0, popular: 100, text: 0)
    if let arm { quotas.override(with: arm.quotas) }
    self.quotas = quotas
    self.keepsRelevanceOrder = scene == .search
    self.dropsPurchases = quotas.repeatPurchase == 0 && !keepsRelevanceOrder
    self.maxPerCategory = max(arm?.maxPerCategory ?? configuration.maxPerCategory, count / 5)
    self.firstPhase = keepsRelevanceOrder ? configuration.searchRankCount : 0
    self.requiresAnchors = scene == .itemPage
  }
}
