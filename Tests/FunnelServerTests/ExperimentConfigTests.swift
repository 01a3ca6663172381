import Foundation
import FunnelCore
import FunnelServer
import Testing

/// The `experiments` and `events` sections of the config file.
@Suite struct ExperimentConfigTests {
  func apply(_ json: String) throws -> ServerOptions {
    let path = NSTemporaryDirectory() + "funnel-config-\(UUID().uuidString).json"
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    try options.apply(configFile: path)
    return options
  }

  @Test func parsesArmsWithTheirOverrides() throws {
    let options = try apply(#"""
      {"experiments": [{"name": "ranker-v2", "salt": "2026-11", "scenes": ["home"], "control": "control",
                        "arms": [{"name": "control", "share": 0.5},
                                 {"name": "wide", "share": 0.5, "maxPerCategory": 2, "quotas": {"similar": 500}}]}],
       "events": {"consume": false, "attributionWindowSeconds": 3600}, "server": {"httpPort": 9090}}
      """#)
    #expect(options.experiments.count == 1 && options.experiments[0].arms[1].quotas == ["similar": 500])
    #expect(options.experiments[0].arms[1].maxPerCategory == 2 && options.experiments[0].scenes == ["home"])
    #expect(!options.consumeEvents && options.serving.attributionWindow == .seconds(3600) && options.httpPort == 9090)
  }

  @Test(arguments: [
    (#"{"experiments": {"name": "x"}}"#, "'experiments' must be an array"),
    (#"{"experiments": [{"name": "x", "salt": "s", "control": "a", "arms": [{"name": "a", "share": "half"}]}]}"#,
     "'experiments[0].arms[0].share' must be a number"),
    (#"{"experiments": [{"name": "x", "salt": "s", "control": "a", "arms": [{"name": "a", "share": 0.4}]}]}"#,
     "sum to 1"),
    (#"{"experiments": [{"name": "x", "salt": "s", "control": "a", "arms": [{"name": "a", "share": 1, "colour": 1}]}]}"#,
     "unknown key 'experiments[0].arms[0].colour'"),
    (#"{"events": {"consume": "yes"}}"#, "'events.consume' must be true or false"),
  ])
  func badSectionsNameTheKey(json: String, expected: String) {
    let error = #expect(throws: FunnelError.self) { _ = try apply(json) }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
  }
}

/// The documented example configuration is a valid one.
@Suite struct ExampleConfigTests {
  @Test func deployExampleParses() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var options = ServerOptions()
    try options.apply(configFile: root.appendingPathComponent("Deploy/funnel.example.json").path)
    #expect(options.httpPort == 8080 && options.experiments.map(\.name) == ["diversity"])
    #expect(options.serving.searchRankCount == 0 && options.serving.profileStaleMs == 3_600_000)
  }
}
