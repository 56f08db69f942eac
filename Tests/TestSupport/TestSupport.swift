import Foundation

/// Paths and process helpers shared by the test targets.
public enum TestSupport {
  /// The repository root (this file is Tests/TestSupport/TestSupport.swift).
  public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  public static func corpus(_ relative: String) -> URL { root.appendingPathComponent("Corpora").appendingPathComponent(relative) }

  /// All files in a corpus folder, sorted.
  public static func corpusFiles(_ folder: String) -> [URL] {
    let dir = corpus(folder)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.sorted().map { dir.appendingPathComponent($0) }
  }

  /// The built `tagdata` binary: $TAGDATA_BIN, or next to the test bundle, or .build/debug.
  public static var tagdataBinary: String {
    if let env = ProcessInfo.processInfo.environment["TAGDATA_BIN"] { return env }
    let candidates = [
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tagdata").path,
      root.appendingPathComponent(".build/debug/tagdata").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
  }

  /// The Python of the interop venv: $TAGDATA_PYTHON or .venv/bin/python, nil if absent.
  public static var python: String? {
    if let env = ProcessInfo.processInfo.environment["TAGDATA_PYTHON"], !env.isEmpty { return env }
    let venv = root.appendingPathComponent(".venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
  }

  /// Interop tests must run (not skip) when TAGDATA_REQUIRE_INTEROP=1, as the README's test command sets.
  public static var interopRequired: Bool { ProcessInfo.processInfo.environment["TAGDATA_REQUIRE_INTEROP"] == "1" }

  /// The seed of a fuzz test: $TAGDATA_FUZZ_SEED when set, else `value`. Printed, so that any run
  /// can be repeated: `TAGDATA_FUZZ_SEED=<seed> swift test --filter <test>`.
  public static func fuzzSeed(default value: UInt64, _ test: String = #function) -> UInt64 {
    let seed = ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? value
    print("\(test): fuzz seed \(seed) (set TAGDATA_FUZZ_SEED to repeat or vary)")
    return seed
  }

  /// A fresh temporary directory.
  public static func tempDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tagdata-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  public struct Output {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  /// Runs a program to completion, feeding `input` on standard input.
  @discardableResult
  public static func run(_ executable: String, _ arguments: [String], input: Data? = nil,
                         environment: [String: String]? = nil) throws -> Output
  {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    // Drain both pipes concurrently to avoid deadlock on large outputs.
    nonisolated(unsafe) var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    if let input { inp.fileHandleForWriting.write(input) }
    try? inp.fileHandleForWriting.close()
    p.waitUntilExit()
    group.wait()
    return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                  stderr: String(decoding: errData, as: UTF8.self))
  }

  /// Runs `tagdata` with arguments.
  @discardableResult
  public static func tagdata(_ arguments: [String], input: Data? = nil) throws -> Output {
    try run(tagdataBinary, arguments, input: input)
  }

  /// Runs a shell command line (for gzip, bzip2, zip).
  @discardableResult
  public static func shell(_ command: String) throws -> Output { try run("/bin/sh", ["-c", command]) }
}

/// Small structures written out by hand for tests.
public enum Fixtures {
  /// CHFClBr as a V2000 molfile (no `$$$$`): F up, Cl lower right, Br lower left, H on the
  /// centre; `stereo` is the C-F bond's stereo code (1 wedge, 6 hash, 0 none).
  public static func bromochlorofluoromethane(stereo: Int, title: String = "") -> String {
    """
    \(title)
      test

      5  4  0  0  0  0  0  0  0  0999 V2000
        0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
        0.0000    1.0000    0.0000 F   0  0  0  0  0  0  0  0  0  0  0  0
        0.8660   -0.5000    0.0000 Cl  0  0  0  0  0  0  0  0  0  0  0  0
       -0.8660   -0.5000    0.0000 Br  0  0  0  0  0  0  0  0  0  0  0  0
        0.0000    0.0000    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0
      1  2  1  \(stereo)
      1  3  1  0
      1  4  1  0
      1  5  1  0
    M  END
    """
  }
}
