import Foundation
import TagdataIO
import TagdataTokenizer
import TestSupport
import Testing

/// `tagdata tokenize train` end to end, through the built binary.
@Suite struct TokenizeTrainCLITests {
  /// Text lines of the shipped UniProt flat files and the first SMILES of ChEMBL.
  static func corpusLines() throws -> [String] {
    var lines: [String] = []
    for file in TestSupport.corpusFiles("uniprot/flat") {
      let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
      for line in text.split(separator: "\n") where line.hasPrefix("CC ") || line.hasPrefix("DE ") || line.hasPrefix("RT ") {
        lines.append(String(line.dropFirst(5)))
      }
    }
    return lines
  }

  @Test func trainsTheSameFileInTwoProcessesFromPlainCompressedAndStandardInput() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let lines = try Self.corpusLines()
    let half = lines.count / 2
    let plain = dir.appendingPathComponent("a.txt"), packed = dir.appendingPathComponent("b.txt")
    try (lines[..<half].joined(separator: "\r\n") + "\r\n").write(to: plain, atomically: true, encoding: .utf8)
    try (lines[half...].joined(separator: "\n")).write(to: packed, atomically: true, encoding: .utf8)
    try #require(TestSupport.shell("gzip '\(packed.path)'").status == 0)
    let smiles = TestSupport.corpus("smiles/nextmove_chembl.smi.gz").path
    var outputs: [[UInt8]] = []
    for k in 0..<2 {
      let out = dir.appendingPathComponent("tok\(k).json").path
      let r = try TestSupport.tagdata(["tokenize", "train", plain.path, packed.path + ".gz", "-", "--vocab-size", "1500",
                                       "--special", "<|endoftext|>", "--special", "<SMILES>", "--output", out, "--json"],
                                      input: try Data(contentsOf: URL(fileURLWithPath: smiles)))
      try #require(r.status == 0, "\(r.stdout)\n\(r.stderr)")
      let summary = try ConfigJSON.parse(Array(r.stdout.utf8))
      guard case .object(let members) = summary.value else { Issue.record("not an object: \(r.stdout)"); return }
      let keys = Set(members.map(\.key))
      #expect(keys.isSuperset(of: ["vocabularySize", "merges", "inputs", "bytes", "seconds"]), "\(r.stdout)")
      #expect(r.stdout.contains("\"vocabularySize\": 1500"), "\(r.stdout)")
      #expect(r.stderr.isEmpty, "\(r.stderr)")  // no progress line: standard error is not a terminal
      outputs.append(try [UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
    }
    #expect(outputs[0] == outputs[1], "two processes (two Dictionary orders) wrote different files")
    let tokenizer = try HFTokenizer(json: outputs[0])
    #expect(tokenizer.vocabularySize == 1500)
    #expect(tokenizer.id(forToken: "<SMILES>") == 1)
    #expect(tokenizer.encode("protein kinase").count < 6)
    // Standard output: the same bytes as the file.
    let r = try TestSupport.tagdata(["tokenize", "train", plain.path, packed.path + ".gz", "-", "--vocab-size", "1500",
                                     "--special", "<|endoftext|>", "--special", "<SMILES>", "--output", "-"],
                                    input: try Data(contentsOf: URL(fileURLWithPath: smiles)))
    #expect(r.status == 0)
    #expect(Array(r.stdout.utf8) == outputs[0])
  }

  @Test func anyBytesTrain() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = SplitMix64(seed: 99)
    var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
    for _ in 0..<200_000 { bytes.append(rng.below(4) == 0 ? UInt8(rng.below(256)) : UInt8(ascii: "a") + UInt8(rng.below(6))) }
    let input = dir.appendingPathComponent("binary")
    try Data(bytes).write(to: input)
    let out = dir.appendingPathComponent("t.json").path
    let r = try TestSupport.tagdata(["tokenize", "train", input.path, "--vocab-size", "400", "--output", out, "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    let tokenizer = try HFTokenizer(contentsOf: URL(fileURLWithPath: out))
    #expect(tokenizer.vocabularySize == 400)
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(tokenizer.decode(tokenizer.encode(text)) == text)
  }

  /// A damaged input loses only its own rest: the texts before the damage, and the other inputs,
  /// are trained on; the exit code is 1 and the message names the file and the line.
  @Test func aDamagedInputKeepsWhatWasRead() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = dir.appendingPathComponent("good.txt"), bad = dir.appendingPathComponent("bad.txt")
    try String(repeating: "kinase activity\n", count: 50).write(to: good, atomically: true, encoding: .utf8)
    try String(repeating: "phosphorylation site\n", count: 5000).write(to: bad, atomically: true, encoding: .utf8)
    try #require(TestSupport.shell("gzip '\(bad.path)' && head -c 300 '\(bad.path).gz' > '\(bad.path).cut.gz'").status == 0)
    let out = dir.appendingPathComponent("t.json").path
    let r = try TestSupport.tagdata(["tokenize", "train", bad.path + ".cut.gz", good.path, "--min-frequency", "1", "--output", out])
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr.contains("bad.txt.cut.gz") && r.stderr.contains("line"), "\(r.stderr)")
    let tokenizer = try HFTokenizer(contentsOf: URL(fileURLWithPath: out))
    #expect(tokenizer.id(forToken: "kinase") != nil)
    #expect(tokenizer.id(forToken: "phosphorylation") != nil)  // the lines before the damage
    // Nothing readable at all: no output.
    let none = dir.appendingPathComponent("none.json").path
    let r2 = try TestSupport.tagdata(["tokenize", "train", bad.path + ".cut.gz", dir.appendingPathComponent("missing").path,
                                      "--output", none])
    #expect(r2.status == 1, "\(r2.stderr)")
    #expect(r2.stderr.contains("missing"), "\(r2.stderr)")
  }

  @Test func errorsHaveTheirExitCodes() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("in.txt")
    try "hello world\nhello there\n".write(to: input, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("out.json").path
    // Usage: a vocabulary below the special tokens and byte symbols, no input, --json to stdout.
    for args in [[input.path, "--vocab-size", "100", "--output", out], ["--output", out],
                 [input.path, "--output", "-", "--json"], [input.path, "--special", "", "--output", out],
                 [input.path, "--special", "x", "--special", "x", "--output", out]]
    {
      let r = try TestSupport.tagdata(["tokenize", "train"] + args)
      #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
    }
    // An input that cannot be read: 1, naming it.
    let missing = try TestSupport.tagdata(["tokenize", "train", dir.appendingPathComponent("nope.txt").path, "--output", out])
    #expect(missing.status == 1, "\(missing.stderr)")
    #expect(missing.stderr.contains("nope.txt"))
    // An output that cannot be written: 74, and nothing is left behind.
    let bad = dir.appendingPathComponent("no/such/dir/out.json").path
    let unwritable = try TestSupport.tagdata(["tokenize", "train", input.path, "--output", bad])
    #expect(unwritable.status == 74, "\(unwritable.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out))
    // A file already there is replaced whole.
    try "old".write(toFile: out, atomically: true, encoding: .utf8)
    let ok = try TestSupport.tagdata(["tokenize", "train", input.path, "--output", out, "--min-frequency", "1"])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stderr.contains("tokens"), "\(ok.stderr)")
    let tokenizer = try HFTokenizer(contentsOf: URL(fileURLWithPath: out))
    #expect(tokenizer.encode("hello") == [tokenizer.id(forToken: "hello")!])
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("tmp") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }
}
