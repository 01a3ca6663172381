/// What the dashboard shows, as JSON (`Codable`, snake-case keys by the encoder): `DashboardTick`
/// is pushed several times a second, `DashboardView` on page load and every few seconds.

/// The small, frequent push: the latest seconds of the live charts, the tiles, the alarms.
public struct DashboardTick: Codable, Sendable, Equatable {
  /// Unix ms the tick was computed at.
  public var at: Int64
  /// The last seconds of the per-second totals (`t`: bucket starts, Unix seconds).
  public var seconds: SeriesBlock
  /// Rolling totals and ratios of the last 60 seconds, and of today (UTC) so far.
  public var tiles: Tiles
  /// Every alarm rule's state.
  public var alarms: [AlarmStatus]

  /// Creates a tick.
  public init(at: Int64, seconds: SeriesBlock, tiles: Tiles, alarms: [AlarmStatus]) {
    self.at = at
    self.seconds = seconds
    self.tiles = tiles
    self.alarms = alarms
  }
}

/// The full view.
public struct DashboardView: Codable, Sendable, Equatable {
  public var tick: DashboardTick
  /// The reporting currency (empty: amounts as given).
  public var currency: String
  /// Per-second totals of the last 5 minutes, per-minute of the last 3 hours, per-hour of 3 days.
  public var series: [String: SeriesBlock]
  /// Orders, amounts, units and customers of the last 60 minutes by `country`, `source`, `category`.
  public var breakdowns: [String: [BreakdownRow]]
  /// The view -> click -> cart -> purchase funnel of the last 60 minutes.
  public var funnel: [FunnelStep]
  /// Best items and categories by paid amount over the last 5 and 60 minutes (`items_5m`, ...).
  public var top: [String: [TopEntry]]
  /// Recommendation performance of the last 60 minutes per scene and arm.
  public var recommendations: [RecommendationRow]
  /// Each replica's service health (several with a shared Redis).
  public var health: [ReplicaHealth]
  /// This replica's most frequent searches that matched nothing, even relaxed (what the catalog or
  /// its synonyms lack), most frequent first.
  public var zeroResultSearches: [QueryCount] = []
}

/// A search query and how often it was made.
public struct QueryCount: Codable, Sendable, Equatable {
  public var query: String
  public var count: Int

  /// A count.
  public init(query: String, count: Int) {
    self.query = query
    self.count = count
  }
}

/// Columns of numbers over bucket starts.
public struct SeriesBlock: Codable, Sendable, Equatable {
  /// Bucket starts, Unix seconds, ascending.
  public var t: [Int64]
  /// Field -> one value per bucket.
  public var values: [String: [Double]]

  /// Creates a block.
  public init(t: [Int64] = [], values: [String: [Double]] = [:]) {
    self.t = t
    self.values = values
  }
}

/// Headline numbers over a window.
public struct Tiles: Codable, Sendable, Equatable {
  public var window: TileValues
  public var today: TileValues
}

/// The tile values of one window.
public struct TileValues: Codable, Sendable, Equatable {
  public var ordersCreated: Double = 0
  public var ordersPaid: Double = 0
  public var ordersCancelled: Double = 0
  public var ordersRefunded: Double = 0
  /// Paid amount (gross merchandise value).
  public var gmv: Double = 0
  public var refunded: Double = 0
  /// Average paid order value (0 without paid orders).
  public var averageOrderValue: Double = 0
  public var units: Double = 0
  public var newCustomers: Double = 0
  public var returningCustomers: Double = 0
  /// Paid orders per second over the window.
  public var ordersPerSecond: Double = 0

  /// Tile values from the summed fields of a window `seconds` long.
  public init(_ sums: [String: Double] = [:], seconds: Double = 60) {
    ordersCreated = sums["orders.created"] ?? 0
    ordersPaid = sums["orders.paid"] ?? 0
    ordersCancelled = sums["orders.cancelled"] ?? 0
    ordersRefunded = sums["orders.refunded"] ?? 0
    gmv = sums["amount.paid"] ?? 0
    refunded = sums["amount.refunded"] ?? 0
    averageOrderValue = ordersPaid > 0 ? gmv / ordersPaid : 0
    units = sums["units"] ?? 0
    newCustomers = sums["customers.new"] ?? 0
    returningCustomers = sums["customers.returning"] ?? 0
    ordersPerSecond = seconds > 0 ? ordersPaid / seconds : 0
  }
}

/// One value of a dimension.
public struct BreakdownRow: Codable, Sendable, Equatable {
  public var name: String
  public var ordersPaid: Double
  public var gmv: Double
  public var units: Double
  public var ordersCancelled: Double
  public var newCustomers: Double
  public var returningCustomers: Double
}

/// One step of the funnel, with the share of the previous step that reached it.
public struct FunnelStep: Codable, Sendable, Equatable {
  public var step: String
  public var count: Double
  /// count / previous step's count (1 for the first step; 0 when the previous is 0).
  public var rate: Double
}

/// One line of a top list.
public struct TopEntry: Codable, Sendable, Equatable {
  public var key: String
  public var gmv: Double
}

/// Recommendation performance of one scene and arm, with 95% intervals.
public struct RecommendationRow: Codable, Sendable, Equatable {
  public var scene: String
  public var arm: String
  public var answers: Double
  public var impressions: Double
  public var clicks: Double
  public var carts: Double
  public var purchases: Double
  public var revenue: Double
  /// clicks / impressions.
  public var ctr: Double
  public var ctrLow: Double
  public var ctrHigh: Double
  /// carts / impressions.
  public var cartRate: Double
  public var cartRateLow: Double
  public var cartRateHigh: Double
  /// purchases / impressions.
  public var conversion: Double
  public var conversionLow: Double
  public var conversionHigh: Double
  /// Attributed revenue per 1,000 impressions.
  public var revenuePerMille: Double
  public var revenuePerMilleLow: Double
  public var revenuePerMilleHigh: Double
}

/// One replica's service health, sampled every second from its own metrics.
public struct ReplicaHealth: Codable, Sendable, Equatable {
  public var replica: String
  /// Unix ms of the sample.
  public var at: Int64
  public var rpcs: [RPCHealth]
  /// Degraded answers per second, by reason (store stage).
  public var degraded: [String: Double]
  /// Events accepted per second.
  public var eventsPerSecond: Double
  /// Event accepted -> applied, 99th percentile over the last 10 s, ms (nil: none applied).
  public var freshnessP99Ms: Double?
  /// Stream entries not yet delivered to the updater group, and delivered but not acknowledged.
  public var consumerLag: Double
  public var consumerPending: Double
  /// Store name -> circuit state (`closed`, `open`, `half_open`), or `embedded`.
  public var stores: [String: String]
  public var indexVersion: String
  public var modelVersion: String

  /// Creates a sample.
  public init(replica: String, at: Int64, rpcs: [RPCHealth] = [], degraded: [String: Double] = [:], eventsPerSecond: Double = 0,
              freshnessP99Ms: Double? = nil, consumerLag: Double = 0, consumerPending: Double = 0,
              stores: [String: String] = [:], indexVersion: String = "", modelVersion: String = "") {
    self.replica = replica
    self.at = at
    self.rpcs = rpcs
    self.degraded = degraded
    self.eventsPerSecond = eventsPerSecond
    self.freshnessP99Ms = freshnessP99Ms
    self.consumerLag = consumerLag
    self.consumerPending = consumerPending
    self.stores = stores
    self.indexVersion = indexVersion
    self.modelVersion = modelVersion
  }
}

/// One RPC's rate, latency and errors over the last 10 seconds.
public struct RPCHealth: Codable, Sendable, Equatable {
  public var rpc: String
  public var perSecond: Double
  public var p50Ms: Double?
  public var p99Ms: Double?
  /// Calls per second that ended in an error status, by status name.
  public var errors: [String: Double]

  /// Creates a row.
  public init(rpc: String, perSecond: Double, p50Ms: Double?, p99Ms: Double?, errors: [String: Double]) {
    self.rpc = rpc
    self.perSecond = perSecond
    self.p50Ms = p50Ms
    self.p99Ms = p99Ms
    self.errors = errors
  }
}

/// An alarm rule's state, as the dashboard shows it.
public struct AlarmStatus: Codable, Sendable, Equatable {
  public var rule: String
  public var severity: String
  /// `ok`, `pending`, `firing`.
  public var state: String
  /// Unix ms the state began.
  public var since: Int64
  /// The indicator's last value (nil: not computable yet).
  public var value: Double?
  public var summary: String

  /// Creates a status.
  public init(rule: String, severity: String, state: String, since: Int64, value: Double?, summary: String) {
    self.rule = rule
    self.severity = severity
    self.state = state
    self.since = since
    self.value = value
    self.summary = summary
  }
}
