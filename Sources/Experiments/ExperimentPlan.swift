import FunnelCore

/// A/B experiments as configured: each with a salt, the scenes it covers and arms with traffic shares.
/// Users are assigned by a stable hash of salt and user id (FNV-1a, 64-bit), so an assignment is the
/// same on every replica and after every restart, and independent between experiments with
/// different salts. Immutable; thread-safe.
public struct ExperimentPlan: Hashable, Sendable {
  /// One arm: its share of the experiment's traffic and what it changes.
  public struct Arm: Hashable, Sendable {
    /// Unique within its experiment.
    public var name: String
    /// Fraction of the experiment's users, 0...1.
    public var share: Double
    /// A model file scored instead of the serving model (nil: the serving model).
    public var modelPath: String?
    /// Re-ranking: most items of one category in an answer (nil: the configured value).
    public var maxPerCategory: Int?
    /// Channel quota overrides by channel name (`similar`, `category`, `popular`, `trending`,
    /// `vector`, `repeat`, `text`, `rule`), applied to every scene of the experiment.
    public var quotas: [String: Int]

    /// Creates an arm.
    public init(name: String, share: Double, modelPath: String? = nil, maxPerCategory: Int? = nil, quotas: [String: Int] = [:]) {
      self.name = name
      self.share = share
      self.modelPath = modelPath
      self.maxPerCategory = maxPerCategory
      self.quotas = quotas
    }
  }

  /// One experiment.
  public struct Experiment: Hashable, Sendable {
    /// Unique, without ':'.
    public var name: String
    /// Mixed into the hash: a new salt reshuffles the users.
    public var salt: String
    /// Scenes it applies to (raw values); empty: every scene.
    public var scenes: Set<String>
    /// Arms in assignment order; shares sum to 1.
    public var arms: [Arm]
    /// The arm others are compared with in reports.
    public var control: String

    /// Creates an experiment; see `ExperimentPlan.init(experiments:)` for the checks.
    public init(name: String, salt: String, scenes: Set<String> = [], arms: [Arm], control: String) {
      self.name = name
      self.salt = salt
      self.scenes = scenes
      self.arms = arms
      self.control = control
    }
  }

  /// Where a request falls.
  public struct Assignment: Hashable, Sendable {
    /// The experiment's name.
    public var experiment: String
    /// The arm the unit falls in.
    public var arm: Arm
    /// `EXPERIMENT:ARM`, as answers and exposures report it.
    public var label: String { experiment + ":" + arm.name }

    /// An assignment to `arm` of `experiment`.
    public init(experiment: String, arm: Arm) {
      self.experiment = experiment
      self.arm = arm
    }
  }

  /// Channel names arms may set quotas for.
  public static let quotaChannels: Set<String> = ["similar", "category", "popular", "trending", "vector", "repeat", "text", "rule",
                                                        "swing", "session", "user_cf", "factors"]

  /// The checked experiments.
  public let experiments: [Experiment]

  /// No experiments: every request is served by the default configuration.
  public init() { experiments = [] }

  /// A plan; throws `FunnelError.invalidArgument` naming the experiment and the problem (no arms,
  /// shares outside 0...1 or not summing to 1, duplicate names, an unknown control or quota channel,
  /// two experiments covering one scene).
  public init(experiments: [Experiment]) throws {
    var scenesTaken: [String: String] = [:]
    for (i, e) in experiments.enumerated() {
      let at = "experiments[\(i)] '\(e.name)'"
      guard !e.name.isEmpty, !e.name.contains(":") else { throw FunnelError.invalidArgument(field: at, "needs a name without ':'") }
      guard e.name != "canary" else { throw FunnelError.invalidArgument(field: at, "'canary' is reserved for model canaries") }
      guard !e.arms.isEmpty else { throw FunnelError.invalidArgument(field: at, "has no arms") }
      guard Set(e.arms.map(\.name)).count == e.arms.count, e.arms.allSatisfy({ !$0.name.isEmpty }) else {
        throw FunnelError.invalidArgument(field: at, "arm names must be unique and non-empty")
      }
      guard e.arms.allSatisfy({ (0...1).contains($0.share) }), abs(e.arms.map(\.share).reduce(0, +) - 1) < 1e-9 else {
        throw FunnelError.invalidArgument(field: at, "arm shares must be in 0...1 and sum to 1")
      }
      guard e.arms.contains(where: { $0.name == e.control }) else {
        throw FunnelError.invalidArgument(field: at, "control '\(e.control)' is not one of its arms")
      }
      for arm in e.arms {
        if let bad = arm.quotas.keys.first(where: { !Self.quotaChannels.contains($0) }) {
          throw FunnelError.invalidArgument(field: at, "arm '\(arm.name)': unknown quota channel '\(bad)'")
        }
      }
      let known = Set(Scene.allCases.map(\.rawValue))
      if let bad = e.scenes.first(where: { !known.contains($0) }) {
        throw FunnelError.invalidArgument(field: at, "unknown scene '\(bad)' (known: \(known.sorted().joined(separator: ", ")))")
      }
      let covered = e.scenes.isEmpty ? known : e.scenes
      if let clash = covered.sorted().first(where: { scenesTaken[$0] != nil }) {
        throw FunnelError.invalidArgument(field: at, "covers scene '\(clash)', which '\(scenesTaken[clash]!)' covers too")
      }
      for scene in covered { scenesTaken[scene] = e.name }
    }
    self.experiments = experiments
  }

  /// The experiment covering `scene` and the arm `unit` (user id, or session id for anonymous
  /// traffic) falls in; nil when no experiment covers the scene or `unit` is empty. O(arms).
  public func assign(unit: String, scene: String) -> Assignment? {
    guard !unit.isEmpty,
          let e = experiments.first(where: { $0.scenes.isEmpty || $0.scenes.contains(scene) }) else { return nil }
    let point = Double(Self.bucket(salt: e.salt, unit: unit)) / Double(Self.buckets)
    var upTo = 0.0
    for arm in e.arms {
      upTo += arm.share
      if point < upTo { return Assignment(experiment: e.name, arm: arm) }
    }
    return Assignment(experiment: e.name, arm: e.arms.last!)
  }

  /// Hash buckets of the unit interval.
  public static let buckets: UInt64 = 1 << 32

  /// FNV-1a 64 of `salt:unit`, folded to 32 bits: uniform enough for shares of 0.1%.
  public static func bucket(salt: String, unit: String) -> UInt64 {
    var fnv = FNV1a()
    fnv.add(salt)
    fnv.add(UInt8(ascii: ":"))
    fnv.add(unit)
    var hash = fnv.value
    // Final avalanche (splitmix64's): FNV's low bits alone are weakly mixed for similar ids.
    hash ^= hash >> 30; hash &*= 0xbf58_476d_1ce4_e5b9
    hash ^= hash >> 27; hash &*= 0x94d0_49bb_1331_11eb
    hash ^= hash >> 31
    return hash >> 32
  }
}
