// swift-tools-version: 6.0
//
// Module layout: each module and the local modules it depends on (──►), exactly as declared below
// and imported by its code (scripts/check-dependencies.py checks both, and this diagram).
// Arrows point down; the leaves are at the bottom. Package products (Logging, SystemPackage, ...)
// are left out.
//
//   spantapd          the daemon executable
//                     ──► SpanTapDaemon, SpanTapConfig, SpanTapControl
//   spantap           the CLI executable
//                     ──► SpanTapControl, SpanTapCapture, SpanTapRing
//   SpanTapDaemon     config -> outputs, producers, control socket, reload, status, metrics
//                     ──► SpanTapConfig, SpanTapControl, SpanTapFastPath, SpanTapFilter, SpanTapSink,
//                         SpanTapLink, SpanTapRing, SpanTapSystem, CSpanTapRing
//   SpanTapFastPath   AF_XDP reference forwarder; mirror hook -> per-binding ring
//                     ──► SpanTapRing, SpanTapSystem, CLibXDP, CSpanTapSys
//   SpanTapSink       drains rings into outputs (Dispatch workers; io_uring batches; latency),
//                     builds ERSPAN/GRE headers for remote outputs, copies selected records to
//                     capture clients
//                     ──► SpanTapCapture, SpanTapRing, SpanTapSystem, CSpanTapSys, CSpanTapUring
//   SpanTapControl    control socket: JSON-lines protocol, server, client, fd passing, status
//                     ──► SpanTapRing, SpanTapSystem, CSpanTapSys
//   SpanTapRing       shared-memory SPSC handoff ring, its rule table and filter programs, the
//                     mirror counters' schema
//                     ──► SpanTapSystem, CSpanTapRing
//   SpanTapLink       TAP devices, VXLAN, rtnetlink control and link events
//                     ──► SpanTapSystem, CLibNLRoute, CLibMnl, CSpanTapSys
//   SpanTapConfig     Junos-style config: parse and validate, touches nothing
//                     ──► SpanTapFilter, SpanTapRing
//   SpanTapFilter     tcpdump expressions -> classic BPF (libpcap), checked by spantap_filter.h
//                     ──► SpanTapRing, CLibPcap, CSpanTapRing
//   SpanTapCapture    capture clients' wire format, pcapng writer, monotonic -> wall clock;
//                     depends on no local module
//   SpanTapSystem     typed system calls in swift-system's style: eventfd, memfd, mappings, clock,
//                     socket options; every call throws Errno
//                     ──► CSpanTapSys
//   C leaves: CSpanTapRing (ring ABI header), CSpanTapSys (syscall shims), CSpanTapUring (liburing),
//             CLibNLRoute, CLibMnl, CLibXDP, CLibPcap (system libraries)
//
// Not shipped, not drawn: spantap-bench (scripts/bench.sh), SpanTapTestSupport and the test targets.
import PackageDescription

let package = Package(
    name: "SpanTap",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "spantapd", targets: ["spantapd"]),
        .executable(name: "spantap", targets: ["spantap"]),
        .library(name: "SpanTapRing", targets: ["SpanTapRing"]),
        .library(name: "SpanTapLink", targets: ["SpanTapLink"]),
        .library(name: "SpanTapSink", targets: ["SpanTapSink"]),
        .library(name: "SpanTapConfig", targets: ["SpanTapConfig"]),
        .library(name: "SpanTapControl", targets: ["SpanTapControl"]),
        .library(name: "SpanTapFastPath", targets: ["SpanTapFastPath"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // C layer: thin, no logic beyond what Swift cannot express.
        .target(name: "CSpanTapRing"),
        .target(name: "CSpanTapSys"),
        // liburing is static inline functions and C11 atomics: wrapped in C, linked from liburing-dev.
        .target(name: "CSpanTapUring", linkerSettings: [.linkedLibrary("uring")]),
        .systemLibrary(name: "CLibNLRoute", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .systemLibrary(name: "CLibMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        // libxdp/libbpf: AF_XDP sockets, UMEM and the xsk redirect program (via the dispatcher).
        .systemLibrary(name: "CLibXDP", pkgConfig: "libxdp",
                       providers: [.apt(["libxdp-dev", "libbpf-dev"])]),
        // libpcap compiles filter expressions, in spantapd only; producers run spantap_filter.h.
        .systemLibrary(name: "CLibPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),

        // Swift layer.
        .target(name: "SpanTapSystem", dependencies: [
            "CSpanTapSys",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "SpanTapRing", dependencies: [
            "CSpanTapRing", "SpanTapSystem",
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "SpanTapLink", dependencies: [
            "CLibNLRoute", "CLibMnl", "CSpanTapSys", "SpanTapSystem",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SpanTapCapture"),
        .target(name: "SpanTapSink", dependencies: [
            "SpanTapCapture", "SpanTapRing", "SpanTapSystem", "CSpanTapSys", "CSpanTapUring",
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SpanTapFilter", dependencies: ["CLibPcap", "CSpanTapRing", "SpanTapRing"]),
        .target(name: "SpanTapConfig", dependencies: ["SpanTapFilter", "SpanTapRing"]),
        .target(name: "SpanTapControl", dependencies: [
            "CSpanTapSys", "SpanTapRing", "SpanTapSystem",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SpanTapDaemon", dependencies: [
            "SpanTapConfig", "SpanTapControl", "SpanTapFastPath", "SpanTapFilter", "SpanTapLink", "SpanTapRing", "SpanTapSink",
            "SpanTapSystem", "CSpanTapRing",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .executableTarget(name: "spantapd", dependencies: [
            "SpanTapDaemon", "SpanTapConfig", "SpanTapControl",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "spantap", dependencies: [
            "SpanTapCapture", "SpanTapControl", "SpanTapRing",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // AF_XDP reference forwarder (cross-connects) with the mirror hook; see docs/fastpath.md.
        .target(name: "SpanTapFastPath", dependencies: [
            "CLibXDP", "CSpanTapSys", "SpanTapRing", "SpanTapSystem",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Atomics", package: "swift-atomics"),
        ]),

        // Benchmarks (scripts/bench.sh, docs/BENCHMARKS.md): not shipped, not a test.
        .executableTarget(name: "spantap-bench", dependencies: [
            "CSpanTapRing", "SpanTapRing", "SpanTapSink", "SpanTapLink", "SpanTapFastPath", "SpanTapSystem",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),

        // Tests.
        .target(name: "SpanTapTestSupport", dependencies: [
            "CSpanTapSys",
            .product(name: "SystemPackage", package: "swift-system"),
        ], path: "Tests/SpanTapTestSupport"),
        .testTarget(name: "SpanTapRingTests", dependencies: ["SpanTapRing", "CSpanTapRing", "SpanTapTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SpanTapLinkTests", dependencies: [
            "SpanTapLink", "CLibNLRoute", "SpanTapTestSupport",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "SpanTapConfigTests", dependencies: ["SpanTapConfig", "SpanTapFilter", "SpanTapRing", "CLibPcap", "SpanTapTestSupport"],
                    exclude: ["Corpus"]),
        .testTarget(name: "SpanTapFilterTests", dependencies: ["SpanTapFilter", "SpanTapRing", "CSpanTapRing", "SpanTapTestSupport"]),
        .testTarget(name: "SpanTapControlTests", dependencies: [
            "SpanTapControl", "SpanTapRing", "SpanTapTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SystemPackage", package: "swift-system"),
        ],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SpanTapDaemonTests", dependencies: ["SpanTapControl", "SpanTapRing", "SpanTapTestSupport"]),
        .testTarget(name: "SpanTapCaptureTests", dependencies: ["SpanTapCapture", "SpanTapTestSupport"]),
        .testTarget(name: "SpanTapSinkTests", dependencies: [
            "SpanTapSink", "SpanTapLink", "SpanTapRing", "SpanTapTestSupport",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Checks on the repository itself: docs/INVARIANTS.md against the code and the tests.
        .testTarget(name: "SpanTapRepositoryTests", dependencies: ["SpanTapTestSupport"]),
        .testTarget(name: "SpanTapFastPathTests", dependencies: [
            "SpanTapFastPath", "SpanTapRing", "SpanTapSink", "SpanTapLink", "SpanTapTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
