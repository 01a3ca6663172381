// swift-tools-version: 6.1
// Funnel's benchmark executables, a package of their own so that the main package's products are the
// product and CI never builds them. Build in release from the repository root:
//   swift build -c release --package-path Benchmarks --product funnel-bench-ranking
// (binaries in Benchmarks/.build/release/). The kernel micro-benchmarks are Benchmarks/Micro.
import PackageDescription

let settings: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")]
let kernels = Target.Dependency.product(name: "FunnelKernels", package: "Funnel")

let package = Package(
  name: "FunnelBenchmarks",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "funnel-bench-pipeline", targets: ["funnel-bench-pipeline"]),
    .executable(name: "funnel-bench-index", targets: ["funnel-bench-index"]),
    .executable(name: "funnel-bench-ranking", targets: ["funnel-bench-ranking"]),
    .executable(name: "funnel-bench-grpccore", targets: ["funnel-bench-grpccore"]),
  ],
  dependencies: [
    .package(name: "Funnel", path: ".."),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
  ],
  targets: [
    .executableTarget(name: "funnel-bench-pipeline",
                      dependencies: [kernels, .product(name: "FunnelServing", package: "Funnel")],
                      path: "PipelineBenchmark", swiftSettings: settings),
    .executableTarget(name: "funnel-bench-index",
                      dependencies: [kernels, .product(name: "FunnelStores", package: "Funnel")],
                      path: "IndexBenchmark", swiftSettings: settings),
    .executableTarget(name: "funnel-bench-ranking", dependencies: [kernels], path: "RankingBenchmark", swiftSettings: settings),
    .executableTarget(name: "funnel-bench-grpccore",
                      dependencies: [.product(name: "FunnelServer", package: "Funnel"), .product(name: "FunnelGRPC", package: "Funnel"),
                                     .product(name: "GRPCWire", package: "Funnel"), .product(name: "GRPCCore", package: "grpc-swift-2"),
                                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                     .product(name: "Logging", package: "swift-log")],
                      path: "GRPCCoreTransportBenchmark", swiftSettings: settings),
  ])
