// swift-tools-version: 6.1
import PackageDescription

/// One settings array for every target: Swift 6 mode and the upcoming features we hold ourselves to.
/// Release builds drop the dynamic exclusivity checks (a runtime call per class-property access in
/// the per-row loops, ~6% of `levy run`); debug builds and the tests keep them.
let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "levy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "levy", targets: ["levy"]),
        .executable(name: "levy-fuzz", targets: ["LevyFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // libxml2, used directly; the shim header switches off its ICU headers (see STYLE.md).
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // syncfs(2), renameat2(2) and memrchr(3), which Swift's Glibc module does not export.
        .target(name: "CSystemCalls"),
        // Pure domain: identifiers, money, calendar, rules, validation, contributions. No I/O.
        .target(name: "LevyDomain", swiftSettings: settings),
        // XML: streaming declaration and bank-file readers, XSD validation, ISO 20022 pain.008 / pain.002 / camt.054.
        // The ISO 20022 schemas are the published .xsd files, compiled into the binary (no bundle to lose).
        .target(name: "LevyXML", dependencies: ["CLibXML2", "CSystemCalls", "LevyDomain"],
                resources: [
                    .embedInCode("Schemas/pain.008.001.02.xsd"),
                    .embedInCode("Schemas/pain.002.001.03.xsd"),
                    .embedInCode("Schemas/camt.054.001.02.xsd"),
                ],
                swiftSettings: settings),
        // The ledger seam and its SQLite implementation.
        .target(name: "LevyLedger", dependencies: [
            "LevyDomain",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: settings),
        // Intake, validation run, collection, bank exchange, reporting: the pipeline over the folders.
        .target(name: "LevyPipeline", dependencies: [
            "LevyDomain", "LevyXML", "LevyLedger", "CSystemCalls",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: settings),
        // The thin command line.
        .executableTarget(name: "levy", dependencies: [
            "LevyPipeline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ], swiftSettings: settings),
        // Fuzz targets: a corpus replayer, or a libFuzzer binary built by Tests/Fuzz/run.sh.
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "LevyFuzz", dependencies: [
            "CFuzzerDriver", "LevyPipeline", "LevyDomain", "LevyLedger", "LevyXML",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: settings),
        .testTarget(name: "LevyDomainTests", dependencies: ["LevyDomain"], swiftSettings: settings),
        // What the test suites share: employers, periods and days written as literals.
        .target(name: "LevyTestSupport", dependencies: ["LevyDomain"], path: "Tests/LevyTestSupport", swiftSettings: settings),
        // What every ledger backend must do (SPEC §12 adds PostgreSQL behind the same seam).
        .testTarget(name: "LevyLedgerTests", dependencies: ["LevyLedger", "LevyDomain", "LevyTestSupport"], swiftSettings: settings),
        .testTarget(name: "LevyPipelineTests", dependencies: [
            "LevyPipeline", "LevyDomain", "LevyXML", "LevyLedger", "LevyTestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Fixtures")], swiftSettings: settings),
    ]
)
