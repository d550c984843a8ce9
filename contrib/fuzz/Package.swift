// swift-tools-version:5.4
// libFuzzer targets for hg-bft (docs/TESTING.md, "Fuzzing"). Not part of the main package or of
// `make test`: build and run them with `make fuzz` or contrib/fuzz/run.sh, which builds with
// `-sanitize=fuzzer,address` (instrumenting the hg-bft library modules the targets link, too).
//
// Each fuzz target is a directory next to this file, named in `targetNames` below, holding a
// `main.swift` that defines `LLVMFuzzerTestOneInput` with `@_cdecl` and is compiled with
// `-parse-as-library`, so that `main` is libFuzzer's. To add a target, create
// `contrib/fuzz/<name>/main.swift`, add `<name>` below (SwiftPM caches the evaluated manifest, so
// the list is spelled out rather than read from the directory), and put seed inputs in
// `contrib/fuzz/corpus/<name>/`.
//
// Why tools version 5.4: from 5.5 on, SwiftPM links every executable with
// `--defsym main=<module>_main` (to make executables testable), which fails when the module has
// no main of its own, or clashes with libFuzzer's when it has one.
import Foundation  // URL, for the main package's directory name
import PackageDescription

let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
// hg-bft is two levels up; a path dependency is named after its directory.
let mainPackage = fuzzDirectory.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let targetNames = [
    "frame-parser",
    "graph-file",
    "membership",
    "object-decoder",
    "operation-index",
]

let package = Package(
    name: "hg-bft-fuzz",
    products: targetNames.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(path: "../.."),
    ],
    targets: targetNames.map { name in
        // HGBFT (the façade) brings every library module of hg-bft; each target imports what it needs.
        .executableTarget(
            name: name,
            dependencies: [.product(name: "HGBFT", package: mainPackage)],
            path: name,
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-swift-version", "6"])])
    }
)
