/// The built-in ranking model of the embedded default, until trained models load (the ranking issue).
///
/// Hand-set weights over the features `Serving` assembles: recall-channel scores, agreement between
/// channels, the user's affinity to the item's category, price distance from the user's usual price,
/// a penalty for items the user already bought recently, and the item's overall popularity (which
/// also orders equally relevant search results).
public enum BuiltinModel {
  /// Feature names, in the column order the built-in model expects.
  public static let schema = FeatureSchema([
    "recall_popular", "recall_category", "recall_similar", "recall_text", "channel_count",
    "user_category_affinity", "abs_log_price_ratio", "recently_purchased", "recently_viewed", "item_popularity",
    "recall_repeat", "recall_vector", "recall_user_cf", "recall_factors",
  ])

  /// The model. Version string `builtin-linear-v2` (v2 added the user-CF and learned-factor channels'
  /// scores, which answer for a known user without a session; Swing and sessions are co-occurrence
  /// evidence already counted by `recall_similar` and `channel_count`, and left to trained models).
  public static let model: LinearModel = {
    // Weights chosen so that behavioural signals (similar items, category affinity) dominate popularity,
    // and text relevance dominates in search. They are a sensible prior, not a trained optimum.
    do {
      return try LinearModel(version: "builtin-linear-v2", schema: schema,
                             weights: [0.4, 1.2, 2.0, 3.0, 0.35, 1.5, -0.6, -2.0, -0.3, 0.8, 3.0, 1.0, 1.5, 2.0], bias: -2.0,
                             logistic: true)
    } catch {
      preconditionFailure("built-in model is inconsistent: \(error)")
    }
  }()
}
