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
  ],
  dependencies: [.package(name: "Funnel", path: "..")],
  targets: [
    .executableTarget(name: "funnel-bench-pipeline",
                      dependencies: [kernels, .product(name: "FunnelServing", package: "Funnel")],
                      path: "PipelineBenchmark", swiftSettings: settings),
    .executableTarget(name: "funnel-bench-index",
                      dependencies: [kernels, .product(name: "FunnelStores", package: "Funnel")],
                      path: "IndexBenchmark", swiftSettings: settings),
    .executableTarget(name: "funnel-bench-ranking", dependencies: [kernels], path: "RankingBenchmark", swiftSettings: settings),
  ])
