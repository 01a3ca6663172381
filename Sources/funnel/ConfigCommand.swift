import ArgumentParser
import Foundation
import FunnelCore
import FunnelJSON
import FunnelServer

/// `funnel config`: validate a configuration file, or show the effective configuration.
struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config",
    abstract: "Check a configuration file, or print the effective configuration and where each value came from.",
    subcommands: [Check.self, Print.self])

  /// `funnel config check FILE`.
  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Validate a configuration file: unknown keys, kinds and ranges (exit 2 naming the first problem).")

    @Argument(help: "The JSON configuration file (as for funnel serve --config).") var file: String

    func run() throws {
      do {
        var options = ServerOptions()
        try options.apply(configFile: file)
        let experiments = options.experiments.isEmpty ? "" : ", \(options.experiments.count) experiments"
        print("\(file): valid (\(options.sources.count) keys set\(experiments))")
      } catch let error as FunnelError {
        printError(error.message)
        throw ExitCode(2)
      }
    }
  }

  /// `funnel config print`.
  struct Print: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print every key's effective value and its source: default < --config file < FUNNEL_* environment < --set.")

    @Option(name: .customLong("config"), help: "JSON configuration file.") var configPath: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("A flag's setting, as funnel serve --set takes it (repeatable).", valueName: "key=value"))
    var settings: [String] = []
    @Flag(help: "One JSON object: {\"key\": {\"value\": ..., \"source\": ...}}.") var json = false

    func run() throws {
      do {
        let options = try ServerOptions.resolve(configFile: configPath, environment: ProcessInfo.processInfo.environment,
                                                flags: ServerOptions.settings(settings))
        if json {
          var out: [UInt8] = Array("{".utf8)
          for (i, key) in ConfigKey.all.enumerated() {
            if i > 0 { out += Array(",\n ".utf8) }
            JSONText.appendString(key.path, to: &out)
            out += Array(": {\"value\": ".utf8)
            switch options.value(of: key) {
            case .integer(let n): out += Array(String(n).utf8)
            case .boolean(let b): out += Array(String(b).utf8)
            case .string(let s): JSONText.appendString(s, to: &out)
            case .unset: out += Array("null".utf8)
            }
            out += Array(", \"source\": ".utf8)
            JSONText.appendString(options.source(of: key).description, to: &out)
            out += Array("}".utf8)
          }
          out += Array("}".utf8)
          print(String(decoding: out, as: UTF8.self))
        } else {
          let width = ConfigKey.all.map(\.path.count).max() ?? 0
          for key in ConfigKey.all {
            let value = options.value(of: key).description
            print("\(key.path.padding(toLength: width, withPad: " ", startingAt: 0))  \(value.padding(toLength: max(value.count, 24), withPad: " ", startingAt: 0))  \(options.source(of: key))")
          }
          if !options.experiments.isEmpty {
            print("experiments: \(options.experiments.map(\.name).joined(separator: ", "))")
          }
        }
      } catch let error as FunnelError {
        printError(error.message)
        throw ExitCode(2)
      }
    }
  }
}

/// One line on standard error.
private func printError(_ message: String) {
  FileHandle.standardError.write(Data("funnel config: \(message)\n".utf8))
}
