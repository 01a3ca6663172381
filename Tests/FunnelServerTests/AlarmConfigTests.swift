import Alarms
import Foundation
import FunnelCore
import FunnelServer
import Testing

/// The `alarms` and `dashboard` sections of the config file.
@Suite struct AlarmConfigTests {
  func apply(_ json: String) throws -> ServerOptions {
    let path = NSTemporaryDirectory() + "funnel-alarms-\(UUID().uuidString).json"
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    try options.apply(configFile: path)
    return options
  }

  @Test func theDeployedRulesParse() throws {
    let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    var options = ServerOptions()
    try options.apply(configFile: "/" + root + "/Deploy/funnel.alarms.json")
    #expect(options.alarms.map(\.name) == ["payment-outage", "no-paid-orders", "gmv-drop", "orders-anomaly", "error-rate"])
    #expect(options.alarms[3].kind == .robustZ && options.alarms[3].historyStepDays == 7)
    #expect(options.dashboardCurrency == "GBP" && options.dashboardRates == "EUR=0.86,USD=0.79")
  }

  @Test(arguments: [
    (#"{"alarms": [{"name": "a", "kind": "above", "indicator": "x", "windowSeconds": 0, "threshold": 1}]}"#,
     "alarms[0].windowSeconds: 0 is not in"),
    (#"{"alarms": [{"name": "a", "kind": "sideways", "indicator": "x", "windowSeconds": 60, "threshold": 1}]}"#,
     "alarms[0].kind"),
    (#"{"alarms": [{"name": "a", "indicator": "x", "windowSeconds": 60, "threshold": 1}]}"#, "alarms[0].kind: is required"),
    (#"{"alarms": [{"name": "a", "kind": "above", "indicator": "x", "windowSeconds": 60, "threshold": 1},"#
      + #"{"name": "a", "kind": "below", "indicator": "y", "windowSeconds": 60, "threshold": 1}]}"#,
     "alarms[1].name: 'a' is used by an earlier rule"),
  ])
  func badRulesAreRefusedNamingTheField(json: String, message: String) {
    do {
      _ = try apply(json)
      Issue.record("accepted \(json)")
    } catch let error as FunnelError {
      #expect(error.message.contains(message), "\(error.message)")
    } catch {
      Issue.record("\(error)")
    }
  }
}
