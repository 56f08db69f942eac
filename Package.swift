// swift-tools-version: 6.0
//
// tagdata: raw chemistry and biology dumps -> Tag-LLM training sets.
// Modules follow the pipeline and depend one way:
//   TagdataIO (bytes, decompression) -> TagdataChem (molecules) -> TagdataSources (format readers);
//   TagdataBio (sequences); TagdataCatalog (SQLite);
//   all of them -> TagdataIngest (sources into the catalog) -> tagdata (CLI).
//   TagdataLabels (descriptors: Chem, Bio, Catalog); TagdataShards (token shards), TagdataTokenizer
//   -> TagdataTasks (Tag-LLM's stage sets from the catalog, splits, shard export); TagdataTrain
//   (IO, Shards) reads shards only; TagdataEval (IO) computes metrics. See ARCHITECTURE.md.
import PackageDescription

// The byte-level parsers, writers and the trainer keep their state in final classes, whose stored
// properties are marked `@exclusivity(unchecked)`: no dynamic exclusivity checks on them
// (measured: 7% of UniProt ingest time), and no unsafe compiler flags, so that the library
// products can be used as dependencies.

let package = Package(
  name: "tagdata",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "tagdata", targets: ["tagdata"]),
    .library(name: "TagdataIngest", targets: ["TagdataIngest"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // System C libraries (Debian: zlib1g-dev, libbz2-dev, libxml2-dev, libsqlite3-dev).
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CBZ2", providers: [.apt(["libbz2-dev"])]),
    .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
    .systemLibrary(name: "CSQLite3", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    // glibc's malloc.h. OpenBLAS (libopenblas0) is loaded when the first matrix multiply runs, not
    // linked: its thread pool would otherwise start, and spin, in every tagdata command.
    .systemLibrary(name: "CMalloc"),
    // glibc's O_DIRECT and fstatfs (direct I/O for large files written once).
    .systemLibrary(name: "CFileSystem"),

    .target(name: "TagdataIO", dependencies: ["CZlib", "CBZ2", "CMalloc", "CFileSystem"]),
    .target(name: "TagdataBio", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "TagdataChem"),
    .target(name: "TagdataSources", dependencies: ["TagdataIO", "TagdataChem", "CLibXML2"]),
    .target(name: "TagdataCatalog", dependencies: ["CSQLite3"]),
    .target(
      name: "TagdataIngest", dependencies: ["TagdataIO", "TagdataBio", "TagdataChem", "TagdataSources", "TagdataCatalog"]),
    .target(name: "TagdataLabels", dependencies: ["TagdataChem", "TagdataBio", "TagdataCatalog"]),
    .target(name: "TagdataShards"),
    .target(name: "TagdataEval", dependencies: ["TagdataIO", "TagdataShards", "TagdataTokenizer", "TagdataTrain"]),
    .target(name: "TagdataTokenizer", dependencies: ["TagdataIO"]),
    .target(
      name: "TagdataTasks",
      dependencies: [
        "TagdataIO", "TagdataChem", "TagdataSources", "TagdataShards", "TagdataTokenizer", "TagdataCatalog", "TagdataLabels",
        "TagdataBio",
        "CZlib", .product(name: "Yams", package: "Yams"),
      ]),
    .target(
      name: "TagdataTrain",
      dependencies: ["TagdataIO", "TagdataShards", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "TagdataPipeline",
      dependencies: [
        "TagdataIO", "TagdataBio", "TagdataChem", "TagdataSources", "TagdataCatalog", "TagdataIngest", "TagdataLabels",
        "TagdataTasks", "TagdataTrain", "TagdataEval", "TagdataShards", "TagdataTokenizer",
      ]),
    .executableTarget(
      name: "tagdata",
      dependencies: [
        "TagdataIO", "TagdataBio", "TagdataChem", "TagdataSources", "TagdataCatalog", "TagdataIngest", "TagdataLabels",
        "TagdataTasks", "TagdataTrain", "TagdataShards", "TagdataTokenizer", "TagdataEval", "TagdataPipeline",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "TagdataIOTests", dependencies: ["TagdataIO", "TestSupport"]),
    .testTarget(name: "TagdataBioTests", dependencies: ["TagdataBio", "TagdataSources", "TagdataIO", "TestSupport"]),
    .testTarget(name: "TagdataChemTests", dependencies: ["TagdataChem", "TagdataSources", "TagdataIO", "TestSupport"]),
    .testTarget(name: "TagdataSourcesTests", dependencies: ["TagdataSources", "TagdataIO", "TestSupport"]),
    .testTarget(
      name: "TagdataIngestTests",
      dependencies: ["TagdataIngest", "TagdataCatalog", "TagdataBio", "TagdataIO", "TagdataSources", "CZlib", "TestSupport"]),
    .testTarget(
      name: "TagdataTrainTests",
      dependencies: ["TagdataTrain", "TagdataShards", "TagdataTokenizer", "TagdataTasks", "TagdataIO", "TestSupport"]),
    .testTarget(name: "TagdataCatalogTests", dependencies: ["TagdataCatalog", "TestSupport"]),
    .testTarget(
      name: "TagdataTasksTests",
      dependencies: ["TagdataTasks", "TagdataCatalog", "TagdataChem", "TagdataBio", "TagdataIO", "TagdataShards", "TagdataTokenizer", "TestSupport"]),
    .testTarget(name: "TagdataTokenizerTests", dependencies: ["TagdataTokenizer", "TagdataIO", "TestSupport"]),
    .testTarget(name: "TagdataEvalTests", dependencies: ["TagdataEval", "TagdataIO", "TagdataShards", "TagdataTokenizer", "TagdataTrain", "TestSupport"]),
    .testTarget(
      name: "TagdataPipelineTests",
      dependencies: ["TagdataPipeline", "TagdataTasks", "TestSupport"]),
    .testTarget(name: "TagdataLabelsTests", dependencies: ["TagdataLabels", "TagdataCatalog", "TagdataChem", "TestSupport"]),
  ]
)
