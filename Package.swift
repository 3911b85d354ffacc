// swift-tools-version:6.0
//
// Layering (data flows top to bottom):
//   CBLAS      system library: OpenBLAS (CBLAS + LAPACK Cholesky), Debian libopenblas-dev
//   CZlib      system library: zlib, to read the gzip'd Fashion-MNIST files
//   NGDMath    pure math: network, inverse-covariance estimator, NGD / SGD / Adam. No I/O.
//   NGDBench   benchmark problems and datasets (the paper's teachers, Fashion-MNIST) and the runner
//   ngd        the executable (swift-argument-parser): `ngd bench paper`, `ngd bench autoencoder`
import PackageDescription

let package = Package(
    name: "ngd",
    products: [
        .executable(name: "ngd", targets: ["ngd"]),
        .library(name: "NGDMath", targets: ["NGDMath"]),
        .library(name: "NGDBench", targets: ["NGDBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS"),
        .systemLibrary(name: "CZlib"),
        .target(name: "NGDMath", dependencies: ["CBLAS"]),
        .target(name: "NGDBench", dependencies: ["NGDMath", "CZlib"]),
        .executableTarget(
            name: "ngd",
            dependencies: [
                "NGDMath", "NGDBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "NGDMathTests", dependencies: ["NGDMath", "CBLAS"]),
        .testTarget(name: "NGDBenchTests", dependencies: ["NGDBench", "NGDMath"]),
        .testTarget(
            name: "ngdTests",
            dependencies: ["ngd", "NGDMath", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    ]
)
