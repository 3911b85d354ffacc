// swift-tools-version:6.2
//
// Layering (data flows top to bottom):
//   CBLAS      system library: OpenBLAS (CBLAS + LAPACK Cholesky), Debian libopenblas-dev
//   CZeroMQ    system library: libzmq, Debian libzmq3-dev
//   CZlib      system library: zlib (gzip'd Fashion-MNIST files, CRC-32 of checkpoints)
//   ZeroMQ     thin Swift wrapper: one class per handle, one error path for every call
//   NGDSystem  the other system calls: one EINTR-retrying wrapper with typed errors, whole-file
//              I/O, zlib (CRC-32, gzip), OpenBLAS kernel selection (/proc/cpuinfo, re-exec)
//   NGDMath    pure math: network, inverse-covariance estimator, NGD / SGD / Adam. No I/O.
//   NGDWire    the wire format: JSON and NGD1 payloads in, predictions / loss / stats / errors out
//   NGDClient  a Swift client of the daemon: producer, subscriber, control with timeouts
//   NGDDaemon  config, model registry, checkpoints, the serve loop (socket → decode → model →
//              encode → socket), systemd notification, logging
//   NGDBench   benchmark problems and datasets (the paper's teachers, Fashion-MNIST) and the runner
//   ngd        the executable (swift-argument-parser): serve, feed, tail, demo, bench
//   NGDFuzz    `ngd-fuzz`: the decoders as libFuzzer targets (scripts/fuzz), or a corpus replayer
import PackageDescription

/// CI (`CI=true`) builds this package's own targets with every warning an error.
let strict: [SwiftSetting] = Context.environment["CI"] == "true" ? [.treatAllWarnings(as: .error)] : []

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "ngd",
    products: [
        .executable(name: "ngd", targets: ["ngd"]),
        .executable(name: "ngd-fuzz", targets: ["NGDFuzz"]),
        .library(name: "NGDMath", targets: ["NGDMath"]),
        .library(name: "NGDClient", targets: ["NGDClient"]),
        .library(name: "NGDBench", targets: ["NGDBench"]),
    ],
    dependencies: [
        // Exact versions: the ones the build is tested with (Package.resolved is not committed).
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        // The Prometheus text exposition (it brings swift-metrics and swift-atomics, no NIO).
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS"),
        .systemLibrary(name: "CZlib"),
        .systemLibrary(name: "CZeroMQ"),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "NGDSystem", dependencies: ["CBLAS", "CZlib"]),
        .target(name: "NGDMath", dependencies: ["CBLAS"]),
        .target(name: "NGDWire"),
        .target(name: "NGDClient", dependencies: ["ZeroMQ", "NGDWire"]),
        .target(
            name: "NGDDaemon",
            dependencies: [
                "NGDMath", "NGDWire", "NGDSystem", "ZeroMQ", logging, serviceLifecycle, unixSignals, prometheus,
            ]),
        .target(name: "NGDBench", dependencies: ["NGDMath", "NGDSystem"]),
        .executableTarget(
            name: "ngd",
            dependencies: [
                "NGDMath", "NGDBench", "NGDWire", "NGDClient", "NGDDaemon", "NGDSystem", "ZeroMQ", argumentParser,
                logging, serviceLifecycle,
            ]),
        // The fuzz targets (NGDDaemon's FuzzTarget): libFuzzer with scripts/fuzz, a replayer otherwise.
        .executableTarget(name: "NGDFuzz", dependencies: ["NGDDaemon"]),
        // Helpers shared by the test targets: a real `ngd serve` process, a client for it, seeded
        // data, the cases of the settings tables.
        .target(
            name: "NGDTestSupport",
            dependencies: ["NGDClient", "NGDDaemon", "NGDWire", "NGDMath", "NGDSystem"],
            path: "Tests/NGDTestSupport"),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "NGDSystem"]),
        .testTarget(name: "NGDSystemTests", dependencies: ["NGDSystem"]),
        .testTarget(name: "NGDMathTests", dependencies: ["NGDMath"]),
        .testTarget(name: "NGDWireTests", dependencies: ["NGDWire", "NGDTestSupport"]),
        .testTarget(
            name: "NGDDaemonTests", dependencies: ["NGDDaemon", "NGDMath", "NGDWire", "NGDTestSupport", logging]),
        // CZlib writes the gzip'd fixtures the dataset reader is tested on.
        .testTarget(name: "NGDBenchTests", dependencies: ["NGDBench", "NGDMath", "CZlib"]),
        .testTarget(
            name: "ngdTests",
            dependencies: [
                "ngd", "NGDMath", "NGDWire", "NGDDaemon", "NGDBench", "NGDClient", "NGDTestSupport", "ZeroMQ",
                argumentParser,
            ]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + strict
}
