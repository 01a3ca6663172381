/// Where a configuration value came from. Later sources override earlier ones: defaults < the
/// `--config` file < `FUNNEL_*` environment variables < flags.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
  /// The built-in default.
  case defaults
  /// The config file at this path.
  case file(String)
  /// This environment variable.
  case environment(String)
  /// This command-line flag (`--port`, or `--set server.port=…`).
  case flag(String)

  public var description: String {
    switch self {
    case .defaults: return "default"
    case .file(let path): return "file \(path)"
    case .environment(let name): return "environment \(name)"
    case .flag(let flag): return "flag \(flag)"
    }
  }
}
