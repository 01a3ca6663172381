import Foundation
import FunnelCore
import FunnelServer
import Testing

/// The one configuration schema: every key reads back what it was set to, from every source; the
/// example file and the documentation cover every key; precedence and errors.
@Suite struct ConfigKeyTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// A value inside the key's kind other than its default, as text.
  static func sample(_ key: ConfigKey, differentFrom current: ConfigKey.Value) -> String {
    switch key.kind {
    case .integer(let range):
      let candidate = range.lowerBound == Int.min ? 0 : range.lowerBound
      if case .integer(candidate) = current { return String(candidate + 1) }
      return String(candidate)
    case .boolean:
      if case .boolean(let b) = current { return String(!b) }
      return "true"
    case .string: return "/tmp/\(key.key)"
    case .choice(let names): return names.first { .string($0) != current } ?? names[0]
    }
  }

  /// Each key's setter and getter agree (durations, bytes and optionals converted both ways), and
  /// its environment variable reaches it.
  @Test(arguments: ConfigKey.all.map(\.path))
  func everyKeyReadsBackWhatItWasSetTo(path: String) throws {
    let key = try #require(ConfigKey.named(path))
    let text = Self.sample(key, differentFrom: ServerOptions().value(of: key))
    var options = ServerOptions()
    try options.apply(environment: [key.environmentName: text])
    #expect(options.value(of: key).description == text, "\(key.environmentName)=\(text)")
    #expect(options.source(of: key) == .environment(key.environmentName))
    var flagged = ServerOptions()
    try flagged.set(path, text: text, from: .flag("--set"))
    #expect(flagged.value(of: key).description == text)
  }

  /// `Deploy/funnel.example.json` sets every key (it is the documented example), each parses, and
  /// docs/configuration.md describes each.
  @Test func theExampleAndTheDocsCoverEveryKey() throws {
    var options = ServerOptions()
    try options.apply(configFile: Self.root.appendingPathComponent("Deploy/funnel.example.json").path)
    let missing = ConfigKey.all.filter { options.source(of: $0) == .defaults }.map(\.path)
    #expect(missing.isEmpty, "keys not in Deploy/funnel.example.json: \(missing)")
    let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
    let undocumented = ConfigKey.all.map(\.path).filter { !docs.contains("`\($0)`") }
    #expect(undocumented.isEmpty, "keys not in docs/configuration.md: \(undocumented)")
  }

  /// defaults < file < environment < flags, and each value's source is reported.
  @Test func flagsOverrideTheEnvironmentWhichOverridesTheFile() throws {
    let path = try ServerOptionsTests.file(#"{"server": {"port": 6000, "host": "0.0.0.0"}, "demo": {"items": 100}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let options = try ServerOptions.resolve(configFile: path, environment: ["FUNNEL_SERVER_PORT": "7000", "FUNNEL_DEMO_ITEMS": "200"],
                                            flags: [("--port", "server.port", "8000")])
    #expect(options.port == 8000 && options.source(of: ConfigKey.named("server.port")!) == .flag("--port"))
    #expect(options.demoItems == 200 && options.source(of: ConfigKey.named("demo.items")!) == .environment("FUNNEL_DEMO_ITEMS"))
    #expect(options.host == "0.0.0.0" && options.source(of: ConfigKey.named("server.host")!) == .file(path))
    #expect(options.source(of: ConfigKey.named("server.httpPort")!) == .defaults)
  }

  @Test(arguments: [
    (#"{"serving": {"maxPerCategory": 0}}"#, "'serving.maxPerCategory' must be an integer in 1...1000, not 0"),
    (#"{"server": {"port": 1.5}}"#, "'server.port' must be an integer in 0...65535, not 1.5"),
    (#"{"server": {"port": "80"}}"#, "'server.port' must be an integer in 0...65535, not '80'"),
    (#"{"events": {"consume": 1}}"#, "'events.consume' must be true or false, not 1"),
    (#"{"server": {"transport": "h3"}}"#, "'server.transport' must be one of nio-http2, grpc-swift, not 'h3'"),
    (#"{"model": {"nmae": "x"}}"#, "unknown key 'model.nmae'"),
    (#"{"serve": {}}"#, "unknown key 'serve'"),
    (#"{"server": [1]}"#, "'server' must be an object"),
    (#"{"server": {"port": 1,}}"#, "not valid JSON"),
  ])
  func badFilesNameTheKeyAndWhatItTakes(json: String, expected: String) throws {
    let path = try ServerOptionsTests.file(json)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    let error = #expect(throws: FunnelError.self) { try options.apply(configFile: path) }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(path) == true)
  }

  @Test func badFlagsNameTheFlag() {
    #expect(throws: FunnelError.self) { try ServerOptions.settings(["serving.maxPerCategory"]) }
    let unknown = #expect(throws: FunnelError.self) {
      try ServerOptions.resolve(configFile: nil, environment: [:], flags: [("--set serving.maxPerCat=3", "serving.maxPerCat", "3")])
    }
    #expect(unknown?.message.contains("flag --set serving.maxPerCat=3: unknown key 'serving.maxPerCat'") == true, "\(unknown?.message ?? "")")
    let range = #expect(throws: FunnelError.self) {
      try ServerOptions.resolve(configFile: nil, environment: [:], flags: [("--demo-items", "demo.items", "0")])
    }
    #expect(range?.message.contains("flag --demo-items: 'demo.items' must be an integer in 1...10000000, not 0") == true, "\(range?.message ?? "")")
  }

  /// `null` unsets a string and leaves other kinds alone.
  @Test func nullUnsetsStringsOnly() throws {
    let path = try ServerOptionsTests.file(#"{"stores": {"redis": null}, "server": {"port": null}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = ServerOptions()
    options.redisURL = "redis://x"
    try options.apply(configFile: path)
    #expect(options.redisURL == nil && options.port == 50051)
  }
}
