import FunnelJSON
import Serving

/// What `GET /readyz` answers: 200 when the replica should take traffic, 503 when it should not
/// (draining before shutdown), with a JSON body of what was checked (index and model versions, each
/// store's circuit). A store whose circuit is open does not make the replica unready: answers are
/// then degraded, not failed, and every replica shares the store, so taking this one out of the
/// balancer would not help.
public struct HTTPReadiness: Sendable {
  /// Whether the replica should receive traffic.
  public var ready: Bool
  /// Named facts shown in the body (`index`, `model`, `store.redis`, ...).
  public var checks: [(name: String, value: String)]

  /// Ready or not, with these facts.
  public init(ready: Bool, checks: [(name: String, value: String)]) {
    self.ready = ready
    self.checks = checks
  }

  /// Ready, with `engine`'s index and model versions.
  public init(engine: ServingEngine) {
    self.init(ready: true, checks: [("index", engine.generation.version), ("model", engine.ranker.model.version)])
  }

  /// The body: `{"ready":true,"index":"…",…}`.
  var json: [UInt8] {
    var out = Array("{\"ready\":\(ready)".utf8)
    for (name, value) in checks {
      out.append(UInt8(ascii: ","))
      JSONText.appendString(name, to: &out)
      out.append(UInt8(ascii: ":"))
      JSONText.appendString(value, to: &out)
    }
    out.append(UInt8(ascii: "}"))
    return out
  }
}
