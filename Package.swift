// swift-tools-version:6.0
import PackageDescription

// hg-bft: a Byzantine-fault-tolerant, eventually consistent repository.
//
// Data flows one way: the `hg-bft` executable → `HGRepository` (the façade) →
// {HGStore, HGGraph, HGState, HGWorkTree, HGSync}, directly or through HGAudit (`verify`) → primitives (HGCore,
// HGCrypto, HGCompression; HGSystem beneath everything that touches the OS) → the system C libraries (CSodium,
// CZlib, CDeflate, CGMP) and system calls (CSystemCalls).
// Each target's dependencies are exactly the modules it imports. The executable imports only the
// façade (which re-exports the types its API is made of, see HGRepository/Exports.swift) and
// ArgumentParser, plus CMalloc for the allocator setting; C shims are `internal import`s.

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "hg-bft",
    products: [
        .executable(name: "hg-bft", targets: ["hg-bft"]),
        .library(name: "HGBFT", targets: ["HGRepository"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System libraries (shims only)
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CGMP", pkgConfig: "gmp", providers: [.apt(["libgmp-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CSystemCalls"),

        // MARK: - Primitives
        .target(name: "HGCrypto", dependencies: ["CSodium"], swiftSettings: strict),
        .target(name: "HGCompression", dependencies: ["CZlib", "CDeflate"], swiftSettings: strict),
        .target(name: "HGCore", dependencies: ["HGCrypto"], swiftSettings: strict),
        // Files, clocks, errno, threads: the one place that talks to the OS for the modules above.
        .target(name: "HGSystem", dependencies: ["CSystemCalls"], swiftSettings: strict),

        // MARK: - Subsystems
        .target(name: "HGStore", dependencies: ["HGSystem", "HGCore", "HGCrypto", "HGCompression"], swiftSettings: strict),
        .target(name: "HGGraph", dependencies: ["HGCore", "HGCompression"], swiftSettings: strict),
        .target(name: "HGState", dependencies: ["HGCore", "HGGraph", "HGCrypto"], swiftSettings: strict),
        .target(name: "HGWorkTree", dependencies: ["HGSystem", "HGCore", "HGCrypto"], swiftSettings: strict),
        .target(name: "HGSync", dependencies: ["HGSystem", "HGCore", "HGCrypto", "HGGraph", "HGCompression"], swiftSettings: strict),
        // `verify`'s audit; snapshot and key-epoch checks join it as further `HistoryCheck`s.
        .target(
            name: "HGAudit", dependencies: ["HGSystem", "HGCore", "HGStore", "HGGraph", "HGState", "HGWorkTree"],
            swiftSettings: strict),

        // MARK: - Façade and executable
        .target(
            name: "HGRepository",
            dependencies: ["HGSystem", "HGCore", "HGCrypto", "HGStore", "HGGraph", "HGState", "HGWorkTree", "HGSync", "HGAudit"],
            swiftSettings: strict),
        .executableTarget(
            name: "hg-bft",
            dependencies: [
                "HGRepository",
                "HGSystem",
                "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        // MARK: - Benchmarks (contrib/bench)
        .executableTarget(
            name: "hg-bft-bench", dependencies: ["HGRepository", "HGCore", "HGCrypto"],
            path: "contrib/bench/HGBench", swiftSettings: strict),

        // MARK: - Tests (one target per module; shared fixtures in HGTestSupport)
        .target(name: "HGTestSupport", dependencies: ["HGCore", "HGCrypto"], path: "Tests/Support", swiftSettings: strict),
        .testTarget(name: "HGCryptoTests", dependencies: ["HGTestSupport", "HGCrypto"], swiftSettings: strict),
        .testTarget(name: "HGCompressionTests", dependencies: ["HGTestSupport", "HGCompression", "CZlib"], swiftSettings: strict),
        .testTarget(
            name: "HGCoreTests", dependencies: ["HGTestSupport", "HGCore", "HGCrypto", "HGSystem"], exclude: ["Vectors"],
            swiftSettings: strict),
        .testTarget(
            name: "HGStoreTests", dependencies: ["HGTestSupport", "HGStore", "HGSystem", "HGCore", "HGCrypto", "HGCompression"],
            swiftSettings: strict),
        .testTarget(
            name: "HGGraphTests", dependencies: ["HGTestSupport", "HGGraph", "HGCore", "HGCrypto", "HGCompression"],
            swiftSettings: strict),
        .testTarget(
            name: "HGStateTests", dependencies: ["HGTestSupport", "HGState", "HGGraph", "HGCore", "HGCrypto"],
            swiftSettings: strict),
        .testTarget(name: "HGWorkTreeTests", dependencies: ["HGWorkTree"], swiftSettings: strict),
        .testTarget(
            name: "HGRepositoryTests",
            dependencies: [
                "HGTestSupport", "HGRepository", "HGSystem", "HGStore", "HGCore", "HGCrypto", "HGState", "HGSync", "HGGraph",
                "HGWorkTree", "HGCompression", "HGAudit",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "HGSyncTests", dependencies: ["HGTestSupport", "HGSync", "HGCore", "HGCrypto", "HGCompression"], exclude: ["Vectors"], swiftSettings: strict),
        .testTarget(
            name: "CLITests", dependencies: ["HGTestSupport", "hg-bft", "HGSync", "HGCore", "HGCrypto", "HGCompression", "HGStore", "HGState", "HGGraph"],
            swiftSettings: strict),
    ]
)
