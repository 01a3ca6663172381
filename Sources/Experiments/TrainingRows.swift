import FeatureStore
import FunnelCore
import FunnelJSON

/// Training rows from attributed exposures: one JSON line per shown item with the features it was
/// served with and what the user did after (point-in-time correct: no feature is from after the
/// answer). Fields: request_id, user_id, scene, arm, model_version, timestamp_ms, position, item_id,
/// clicked, carted, purchased (0/1), revenue, features (name -> value, null when missing).
public enum TrainingRows {
  /// Appends the rows of `attributed` to `out`; returns (rows, rows with a click, cart or purchase).
  @discardableResult
  public static func append(_ attributed: AttributedExposure, to out: inout [UInt8]) -> (rows: Int, positives: Int) {
    let e = attributed.exposure
    var positives = 0
    for (position, item) in e.items.enumerated() {
      let o = attributed.outcomes[position]
      if o.clicks + o.carts + o.purchases > 0 { positives += 1 }
      out += Array("{\"request_id\":".utf8)
      JSONText.appendString(e.requestID, to: &out)
      for (key, value) in [("user_id", e.userID), ("scene", e.scene), ("arm", e.arm), ("model_version", e.modelVersion)] {
        out += Array(",\"\(key)\":".utf8)
        JSONText.appendString(value, to: &out)
      }
      out += Array(",\"timestamp_ms\":\(e.timestampMs),\"position\":\(position),\"item_id\":".utf8)
      JSONText.appendString(item, to: &out)
      out += Array(",\"clicked\":\(o.clicks > 0 ? 1 : 0),\"carted\":\(o.carts > 0 ? 1 : 0),\"purchased\":\(o.purchases > 0 ? 1 : 0),\"revenue\":".utf8)
      JSONText.appendNumber(o.revenue, to: &out)
      out += Array(",\"features\":{".utf8)
      if position < e.features.count {
        for (i, name) in e.featureNames.enumerated() {
          if i > 0 { out.append(UInt8(ascii: ",")) }
          JSONText.appendString(name, to: &out)
          out.append(UInt8(ascii: ":"))
          let v = i < e.features[position].count ? e.features[position][i] : .nan
          if v.isFinite { JSONText.appendNumber(Double(v), to: &out) } else { out += Array("null".utf8) }
        }
      }
      out += Array("}}\n".utf8)
    }
    return (e.items.count, positives)
  }
}
