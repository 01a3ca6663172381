// swift-tools-version:6.1
import PackageDescription

/// One list of Swift settings for every target (Swift 6 mode, strict concurrency).
let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
]

let grpcCore = Target.Dependency.product(name: "GRPCCore", package: "grpc-swift-2")
let grpcInProcess = Target.Dependency.product(name: "GRPCInProcessTransport", package: "grpc-swift-2")
let grpcNIO = Target.Dependency.product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport")
let grpcProtobuf = Target.Dependency.product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let openAPIRuntime = Target.Dependency.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")
let openAPIHummingbird = Target.Dependency.product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird")
let httpTypes = Target.Dependency.product(name: "HTTPTypes", package: "swift-http-types")
let tracing = Target.Dependency.product(name: "Tracing", package: "swift-distributed-tracing")
let inMemoryTracing = Target.Dependency.product(name: "InMemoryTracing", package: "swift-distributed-tracing")
let otel = Target.Dependency.product(name: "OTel", package: "swift-otel")
let nioHTTP2 = Target.Dependency.product(name: "NIOHTTP2", package: "swift-nio-http2")
let histogram = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")
// Searching sorted runs (`partitioningIndex(where:)`): one binary search for posting lists, term
// dictionaries, dropped candidates and rollup timestamps instead of a loop written in each.
let algorithms = Target.Dependency.product(name: "Algorithms", package: "swift-algorithms")
let compressNIO = Target.Dependency.product(name: "CompressNIO", package: "compress-nio")
let nioHPACK = Target.Dependency.product(name: "NIOHPACK", package: "swift-nio-http2")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let hummingbirdTLS = Target.Dependency.product(name: "HummingbirdTLS", package: "hummingbird")
let jwtKit = Target.Dependency.product(name: "JWTKit", package: "jwt-kit")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let x509 = Target.Dependency.product(name: "X509", package: "swift-certificates")
let asyncHTTPClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")

let package = Package(
  name: "Funnel",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "funnel", targets: ["funnel"]),
    .library(name: "FunnelServer", targets: ["FunnelServer"]),
    // Libraries for the benchmark packages in Benchmarks/ (never built by the main build or CI).
    .library(name: "FunnelKernels", targets: ["FunnelCore", "FunnelJSON", "IndexFormat", "IndexBuilder", "Recall", "Ranking",
                                              "FeatureStore", "DemoCatalog", "TextAnalysis"]),
    .library(name: "FunnelServing", targets: ["Serving"]),
    .library(name: "FunnelStores", targets: ["RedisStore", "MongoStore"]),
    .library(name: "FunnelGRPC", targets: ["FunnelGRPC"]),
    .library(name: "GRPCWire", targets: ["GRPCWire"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    .package(url: "https://github.com/apple/swift-algorithms.git", from: "1.2.1"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
    .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    // OTLP over gRPC only (the project has grpc-swift already; the HTTP exporter would add async-http-client).
    .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPGRPC"]),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", "4.5.2"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    // Alarm webhooks (HTTP client with timeouts, TLS and redirects handled).
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
  ],
  targets: [
    // Layer 0: C libraries from Debian's -dev packages.
    .systemLibrary(name: "CHiredis", path: "Sources/CHiredis",
                   providers: [.apt(["libhiredis-dev"])]),
    .systemLibrary(name: "CMongoC", path: "Sources/CMongoC", pkgConfig: "libmongoc-1.0",
                   providers: [.apt(["libmongoc-dev", "libbson-dev"])]),

    .systemLibrary(name: "CRoaring", path: "Sources/CRoaring", providers: [.apt(["libroaring-dev"])]),
    .systemLibrary(name: "CStemmer", path: "Sources/CStemmer", providers: [.apt(["libstemmer-dev"])]),
    .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
    .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),

    // QuickScorer's bit-mask kernel in C: AVX-512 intrinsics chosen at run time, a portable fallback.
    .target(name: "CForestKernels", path: "Sources/CForestKernels"),
    // Inner products for vector recall: AVX-512, AVX2 + FMA and portable kernels, bit-identical.
    .target(name: "CVectorKernels", path: "Sources/CVectorKernels"),
    .target(name: "CChecksum", path: "Sources/CChecksum"),

    // Layer 1
    .target(name: "FunnelCore", swiftSettings: swiftSettings),
    // JSON without Foundation: the catalog/event parser and the hot writers, shared by IndexBuilder and FunnelHTTP.
    .target(name: "FunnelJSON", swiftSettings: swiftSettings),
    .target(name: "DenseMath", dependencies: ["COpenBLAS"], swiftSettings: swiftSettings),

    // Layer 2
    .target(name: "MappedStorage", dependencies: ["FunnelCore", "CMalloc"], swiftSettings: swiftSettings),
    .target(name: "TextAnalysis", dependencies: ["CStemmer"], swiftSettings: swiftSettings),
    .target(name: "Bitmaps", dependencies: ["CRoaring"], swiftSettings: swiftSettings),
    .target(name: "Ranking", dependencies: ["DenseMath", "CForestKernels", swiftProtobuf], exclude: ["ONNX/onnx.proto"],
            swiftSettings: swiftSettings),
    .target(name: "FeatureStore", dependencies: ["FunnelCore"], swiftSettings: swiftSettings),
    .target(name: "DemoCatalog", dependencies: ["FunnelCore"], swiftSettings: swiftSettings),
    // The dashboard's indicators: increments from orders, events and answers, rollups at 1 s / 1 min / 1 h.
    .target(name: "Indicators", dependencies: ["FunnelCore", algorithms], swiftSettings: swiftSettings),

    // Layer 3
    .target(name: "IndexFormat", dependencies: ["FunnelCore", "MappedStorage", "Bitmaps", "CVectorKernels", "CChecksum", "TextAnalysis", algorithms], swiftSettings: swiftSettings),
    .target(name: "RedisStore", dependencies: ["FunnelCore", "FeatureStore", "Bitmaps", "CHiredis", "FunnelSecurity", "Indicators", nioPosix],
            swiftSettings: swiftSettings),
    .target(name: "MongoStore", dependencies: ["FunnelCore", "FunnelJSON", "FeatureStore", "CMongoC", nioPosix],
            swiftSettings: swiftSettings),

    // Alarm rules over the indicator rollups: thresholds, change, anomaly; the firing/resolved state machine.
    .target(name: "Alarms", dependencies: ["Indicators"], swiftSettings: swiftSettings),

    // A lean gRPC server transport on swift-nio-http2's frames (no channel per stream).
    .target(name: "GRPCWire", dependencies: [grpcCore, logging, nioCore, nioPosix, nioHTTP2, nioHPACK, nioSSL, compressNIO], swiftSettings: swiftSettings),
    // TLS contexts with certificate reload, API keys, JWT verification, the access policy.
    .target(name: "FunnelSecurity", dependencies: [nioCore, nioPosix, nioSSL, jwtKit, crypto, x509], swiftSettings: swiftSettings),

    // Layer 4
    .target(name: "IndexBuilder", dependencies: ["FunnelCore", "FunnelJSON", "IndexFormat", "MappedStorage", "CVectorKernels", "TextAnalysis"],
            swiftSettings: swiftSettings),
    .target(name: "Ingest", dependencies: ["FunnelCore", "IndexBuilder", "IndexFormat"], swiftSettings: swiftSettings),
    .target(name: "Experiments", dependencies: ["FunnelCore", "FunnelJSON", "FeatureStore"], swiftSettings: swiftSettings),
    .target(name: "Recall", dependencies: ["FunnelCore", "IndexFormat", "MappedStorage", "Bitmaps", "TextAnalysis", algorithms], swiftSettings: swiftSettings),
    .target(name: "Search", dependencies: ["FunnelCore", "IndexFormat", "MappedStorage", "Bitmaps"], swiftSettings: swiftSettings),

    // Layer 5
    .target(name: "Serving",
            dependencies: ["FunnelCore", "FeatureStore", "Ranking", "Recall", "Search", "Bitmaps", "IndexFormat", "TextAnalysis", "Experiments", "FunnelSecurity", "Indicators", prometheus, tracing, logging],
            swiftSettings: swiftSettings),

    // Layer 6
    .target(name: "Evaluation", dependencies: ["FunnelCore", "Serving", "FeatureStore", "Experiments", "Ranking", "IndexBuilder", "IndexFormat"],
            swiftSettings: swiftSettings),
    .target(name: "FunnelGRPC",
            dependencies: ["FunnelCore", "Serving", "Experiments", "GRPCWire", "FunnelSecurity", grpcCore, grpcNIO, grpcProtobuf, swiftProtobuf, logging, nioCore, nioPosix, prometheus, tracing],
            exclude: ["Protos"],
            swiftSettings: swiftSettings),

    .target(name: "FunnelHTTP",
            dependencies: ["FunnelCore", "FunnelJSON", "Serving", "FunnelSecurity", logging, lifecycle, nioCore, hummingbird, hummingbirdTLS,
                           prometheus, openAPIRuntime, openAPIHummingbird, httpTypes, compressNIO, tracing],
            exclude: ["openapi.yaml", "openapi-generator-config.yaml"],
            swiftSettings: swiftSettings),

    // Generations from the builder to every replica (layer 4).
    .target(name: "EventArchive", dependencies: ["FunnelCore", "FeatureStore", "FunnelSecurity", "IndexFormat", "IndexBuilder",
                                                 "RedisStore", compressNIO, nioCore],
            swiftSettings: swiftSettings),
    .target(name: "Distribution", dependencies: ["FunnelCore", "IndexFormat", asyncHTTPClient, nioCore, nioPosix],
            swiftSettings: swiftSettings),

    // Layer 7
    .target(name: "FunnelServer",
            dependencies: ["Distribution", "FunnelCore", "FunnelJSON", "Serving", "FunnelGRPC", "FunnelHTTP", "Experiments", "FeatureStore", "DemoCatalog", "IndexBuilder", "IndexFormat", "RedisStore", "MongoStore",
                           "Recall", "Ranking", "GRPCWire", "FunnelSecurity", "Indicators", "Alarms",
                           grpcCore, grpcNIO, logging, lifecycle, unixSignals, nioCore, nioPosix, nioSSL, nioHTTP1, prometheus, tracing, otel,
                           asyncHTTPClient, crypto],
            swiftSettings: swiftSettings),

    // Layer 8
    .target(name: "BatchClient", dependencies: ["FunnelGRPC", "FunnelCore", "FunnelJSON", grpcCore, grpcNIO],
            swiftSettings: swiftSettings),
    .target(name: "LoadGenerator",
            dependencies: ["FunnelGRPC", "FunnelCore", "GRPCWire", grpcCore, grpcNIO, histogram, swiftProtobuf, nioCore, nioPosix, asyncHTTPClient],
            swiftSettings: swiftSettings),
    .executableTarget(name: "funnel",
                      dependencies: ["FunnelServer", "Distribution", "EventArchive", "FunnelGRPC", "FunnelSecurity", "IndexBuilder", "IndexFormat", "MappedStorage", "DemoCatalog", "FunnelCore", "FunnelJSON", "Ranking", "MongoStore", "LoadGenerator", "BatchClient",
                                     "Ingest", "Evaluation", "Experiments", "RedisStore", "FeatureStore", "Serving", "TextAnalysis",
                                     argumentParser, logging, lifecycle, grpcCore, grpcNIO,
                                     swiftProtobuf],
                      swiftSettings: swiftSettings),

    // Tests mirror targets; shared fakes live in FunnelTestSupport.
    .target(name: "FunnelTestSupport", dependencies: ["FunnelCore", "Indicators", "DemoCatalog", "Serving", "FeatureStore", "IndexBuilder", "IndexFormat",
                                                     "FunnelServer", "FunnelHTTP", "GRPCWire", lifecycle, logging, nioCore, nioPosix, tracing],
            path: "Tests/FunnelTestSupport", swiftSettings: swiftSettings),
    .testTarget(name: "FunnelCoreTests", dependencies: ["FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "FunnelSecurityTests", dependencies: ["FunnelSecurity", jwtKit, crypto], swiftSettings: swiftSettings),
    .testTarget(name: "FunnelJSONTests", dependencies: ["FunnelJSON"], swiftSettings: swiftSettings),
    .testTarget(name: "MappedStorageTests", dependencies: ["MappedStorage", "FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "BitmapsTests", dependencies: ["Bitmaps"], swiftSettings: swiftSettings),
    .testTarget(name: "IndexFormatTests", dependencies: ["IndexFormat", "MappedStorage", "IndexBuilder", "DemoCatalog", "FunnelCore", "CVectorKernels", "TextAnalysis", "Bitmaps"], swiftSettings: swiftSettings),
    .testTarget(name: "TextAnalysisTests", dependencies: ["TextAnalysis", "IndexFormat", "IndexBuilder", "Recall", "FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "DemoCatalogTests", dependencies: ["DemoCatalog", "FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "IngestTests", dependencies: ["Ingest", "FunnelCore", "IndexFormat"], swiftSettings: swiftSettings),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Experiments", "FeatureStore", "FunnelCore", "Ranking", "DemoCatalog", "IndexBuilder"], swiftSettings: swiftSettings),
    .testTarget(name: "SearchTests", dependencies: ["Search", "Recall", "IndexBuilder", "IndexFormat", "DemoCatalog", "Bitmaps", "FunnelCore", "TextAnalysis"], swiftSettings: swiftSettings),
    .testTarget(name: "RecallTests", dependencies: ["Recall", "IndexBuilder", "IndexFormat", "DemoCatalog", "Bitmaps", "FunnelCore", "TextAnalysis", "MappedStorage"], swiftSettings: swiftSettings),
    .testTarget(name: "RankingTests", dependencies: ["Ranking"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
    .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "FeatureStore", "FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "IndicatorsTests", dependencies: ["Indicators", "FunnelCore", "FunnelTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "AlarmsTests", dependencies: ["Alarms", "Indicators", "FunnelCore", "Ingest"], swiftSettings: swiftSettings),
    .testTarget(name: "FeatureStoreTests", dependencies: ["FeatureStore", "FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "ServingTests", dependencies: ["Serving", "FunnelTestSupport", "Recall", "IndexFormat", "IndexBuilder", "Ranking", "FeatureStore", "FunnelCore", "Experiments", tracing, inMemoryTracing], swiftSettings: swiftSettings),
    .testTarget(name: "EventArchiveTests", dependencies: ["EventArchive", "FunnelTestSupport", "FunnelCore", "RedisStore", "FeatureStore",
                                                         "FunnelSecurity"],
                swiftSettings: swiftSettings),
    .testTarget(name: "DistributionTests", dependencies: ["Distribution", "IndexFormat", "IndexBuilder", "FunnelTestSupport", "FunnelCore"],
                swiftSettings: swiftSettings),
    .testTarget(name: "RedisStoreTests", dependencies: ["RedisStore", "FunnelTestSupport", "Bitmaps", "FeatureStore", "FunnelCore", "Indicators", "Serving"], swiftSettings: swiftSettings),
    .testTarget(name: "MongoStoreTests", dependencies: ["MongoStore", "FunnelTestSupport", "FeatureStore", "FunnelCore"], swiftSettings: swiftSettings),
    .testTarget(name: "FunnelServerTests",
                dependencies: ["FunnelServer", "Distribution", "FunnelTestSupport", "IndexBuilder", "IndexFormat", "Serving", "FeatureStore",
                               "RedisStore", "MongoStore", "Ranking", "Ingest", "DemoCatalog", "FunnelCore", "FunnelGRPC", "FunnelHTTP", "Alarms", grpcCore, grpcNIO, nioPosix, logging, lifecycle, otel, tracing],
                swiftSettings: swiftSettings),
    .testTarget(name: "BatchClientTests",
                dependencies: ["BatchClient", "FunnelTestSupport", "FunnelCore"],
                swiftSettings: swiftSettings),
    .testTarget(name: "LoadGeneratorTests",
                dependencies: ["LoadGenerator", "FunnelTestSupport", "FunnelCore"],
                swiftSettings: swiftSettings),
    .testTarget(name: "FunnelHTTPTests", dependencies: ["FunnelHTTP", "FunnelTestSupport", "FunnelSecurity", "Serving", "FunnelCore", "FeatureStore", logging, lifecycle, inMemoryTracing],
                swiftSettings: swiftSettings),
    .testTarget(name: "GRPCWireTests",
                dependencies: [compressNIO, "GRPCWire", "FunnelCore", grpcCore, grpcNIO, nioCore, nioPosix, nioHTTP2, nioHPACK, logging,
                               nioEmbedded],
                swiftSettings: swiftSettings),
    .testTarget(name: "FunnelGRPCTests",
                dependencies: ["FunnelGRPC", "FunnelServer", "FunnelTestSupport", "RedisStore", "FeatureStore", "Serving",
                               grpcCore, grpcInProcess, grpcNIO, inMemoryTracing, nioCore, nioPosix, swiftProtobuf, logging, lifecycle],
                swiftSettings: swiftSettings),
  ]
)
