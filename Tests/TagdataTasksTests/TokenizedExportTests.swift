import Foundation
import TagdataIO
import TagdataShards
@testable import TagdataTasks
import TagdataTokenizer
import TestSupport
import Testing

/// `tagdata export --tokenized` on the preset build of the shipped corpora: numpy reads every
/// example back exactly, the exported Hugging Face tokenizers give the same ids, two exports are
/// byte-identical, and `tagdata train` runs stages 1–3 on the shards, lowering the validation
/// loss in each.
@Suite struct TokenizedExportTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/token_shards.py").path

  /// A catalog, its preset build and the build's directory (made once per process).
  static let build: Result<String, Error> = Result {
    let catalog = try StageBuildTests.catalog()
    let out = TestSupport.tempDirectory().appendingPathComponent("build").path
    let r = try TestSupport.tagdata(["build", "--preset", "tag-llm", "--catalog", catalog, "--out", out, "--shards", "3"])
    guard r.status == 0 else { throw TokenizedExportError("build failed: \(r.stderr)") }
    return out
  }

  /// The expected examples, computed from the build's records by the library (not read back from the files).
  static func expected(build: String, vocabulary: Vocabulary) throws -> ([String], [String]) {
    let manifest = try TokenizedExport.readManifest(build)
    var lines: [String] = [], formulations: [String] = [], spanProblems: [String] = []
    defer { #expect(spanProblems.isEmpty, "\(spanProblems.prefix(5))") }
    for f in manifest.shardFiles {
      let stem = String(f.dropLast(".jsonl".count))
      try TokenizedExport.forEachRecord(build + "/" + f) { r in
        let (e, _) = try TokenizedExport.example(r, vocabulary: vocabulary)
        let regression = e.regression.map { "{\"head\":\(JSONString.quoted($0.head)),\"position\":\($0.position),\"target\":\($0.target)}" }
        lines.append("{\"shard\":\"\(stem)\",\"ids\":\(e.tokens),\"mask\":\(e.lossMask.map { $0 ? 1 : 0 }),\"task\":\(JSONString.quoted(e.task)),"
                     + "\"split\":\(JSONString.quoted(r.split)),\"key\":\(JSONString.quoted(r.key ?? "")),\"regression\":[\(regression.joined(separator: ","))],"
                     + "\"spans\":\(e.spans.map { [$0.lowerBound, $0.upperBound] })}")
        // Each span is a domain tag and its input: it starts at the tag and holds the input's text.
        let inputs = r.segments.filter { $0.kind == .smiles || $0.kind == .protein }
        if e.spans.count != inputs.count { spanProblems.append("\(r.key ?? ""): \(e.spans.count) spans for \(inputs.count) inputs") }
        for (span, input) in zip(e.spans, inputs) {
          let text = vocabulary.decode(Array(e.tokens[span]))
          let bare = { (s: String) in s.replacingOccurrences(of: " ", with: "") }
          if !text.hasPrefix("<TAG ") || !bare(text).contains(bare(input.text)) {
            spanProblems.append("\(r.key ?? ""): span \(span) decodes to \(text.prefix(80))")
          }
        }
        // The formulation as Hugging Face sees it: tags as their <TAG i> tokens; regression records up to the label.
        var text = ""
        for s in r.segments {
          if r.regression && s.kind == .label { break }
          if s.kind == .tag, let t = vocabulary.tag(s.text) {
            for k in 0..<t.count { text += "<TAG \(t.first + k)>" }
          } else {
            text += s.text
          }
        }
        formulations.append(text)
      }
    }
    return (lines, formulations)
  }

  @Test(arguments: [false, true]) func numpyAndTokenizersReadTheShards(domain: Bool) throws {
    let build = try Self.build.get()
    let dir = TestSupport.tempDirectory()
    let out = dir.appendingPathComponent("tokens").path
    let flags = domain ? ["--smiles-tokens", "--residue-tokens"] : []
    let r = try TestSupport.tagdata(["export", "--tokenized", build, "--out", out, "--json"] + flags)
    try #require(r.status == 0, "\(r.stderr)")
    let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let buildManifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: build + "/manifest.json"))) as? [String: Any])
    #expect(summary["examples"] as? Int == (buildManifest["total"] as? Int), "every record of the build is an example")

    // The same options again: byte-identical files.
    let again = dir.appendingPathComponent("again").path
    #expect(try TestSupport.tagdata(["export", "--tokenized", build, "--out", again] + flags).status == 0)
    for f in try FileManager.default.contentsOfDirectory(atPath: out).sorted() {
      #expect(FileManager.default.contents(atPath: out + "/" + f) == FileManager.default.contents(atPath: again + "/" + f), "\(f) differs")
    }

    // The reader of the trainer sees what was written.
    let (manifest, examples) = try TokenShards.read(from: out)
    #expect(examples.count == manifest.examples)
    #expect(manifest.tokenType == "uint16")
    #expect(Set(examples.map(\.task)) == Set(TagLLM.Task.allCases.map(\.rawValue)))

    var options = try TokenizedExport.Options.load(tokenizer: nil)
    options.smilesTokens = domain
    options.residueTokens = domain
    let vocabulary = try TokenizedExport.vocabulary(dataset: out, options: options)
    let (lines, formulations) = try Self.expected(build: build, vocabulary: vocabulary)
    #expect(lines.count == examples.count)
    // Regression examples: the head reads the function tag's last token; no next-token targets.
    for e in examples where !e.regression.isEmpty {
      let head = try #require(e.regression.first)
      #expect(e.tokens[head.position] == manifest.tags[head.head]?.last, "\(e.key ?? ""): head position")
      #expect(!e.lossMask.contains(true))
    }

    guard let python = TestSupport.python else {
      if TestSupport.interopRequired { Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)") }
      return
    }
    let expectedPath = dir.appendingPathComponent("expected.jsonl").path
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: expectedPath))
    // Exported Hugging Face tokenizers on the formulations and on every SMILES and sequence.
    let hf = dir.appendingPathComponent("hf").path
    let x = try TestSupport.tagdata(["tokenize", "export-hf", "--dataset", out, "--out", hf])
    try #require(x.status == 0, "\(x.stderr)")
    var cases: [String] = []
    let plain = vocabulary.withoutBOS
    var seen = Set<String>()
    for f in formulations {
      // Formulations are tokenized as text by the text tokenizer + tags, which is what tokenizer.json holds.
      let ids = try Vocabulary(text: plain.text, tagged: plain.tagged, tags: plain.tags).encode([.init(.text, f)], eos: false).ids
      cases.append("{\"kind\":\"text\",\"text\":\(JSONString.quoted(f)),\"ids\":\(ids)}")
    }
    if domain {
      try TokenizedExport.forEachRecord(build + "/" + TokenizedExport.readManifest(build).shardFiles[0]) { r in
        for s in r.segments where (s.kind == .smiles || s.kind == .protein) && seen.insert(s.text).inserted {
          let ids = try plain.encode([s], eos: false).ids
          cases.append("{\"kind\":\"\(s.kind == .smiles ? "smiles" : "protein")\",\"text\":\(JSONString.quoted(s.text)),\"ids\":\(ids)}")
        }
      }
      // Symbols outside the ranges map to the unknown ids on both sides.
      for s in ["[Xe]C%12CC%12", "C1CC1Cl.[Na+]", "CCO"] {
        cases.append("{\"kind\":\"smiles\",\"text\":\(JSONString.quoted(s)),\"ids\":\(try plain.encode([.init(.smiles, s)], eos: false).ids)}")
      }
      for s in ["M K T J", "MKTé", "ACDEFGHIKLMNPQRSTVWYUOBZX"] {
        cases.append("{\"kind\":\"protein\",\"text\":\(JSONString.quoted(s)),\"ids\":\(try plain.encode([.init(.protein, s)], eos: false).ids)}")
      }
    }
    let casesPath = dir.appendingPathComponent("hf-cases.jsonl").path
    try Data((cases.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: casesPath))
    let p = try TestSupport.run(python, [Self.script, out, expectedPath, hf, casesPath])
    if p.status == 3 && !TestSupport.interopRequired {
      print("skipped: \(p.stdout)")
      return
    }
    print(p.stdout)
    #expect(p.status == 0, "\(p.stdout)\n\(p.stderr)")
    #expect(p.stdout.contains("SUMMARY problems=0"))
  }

  /// Stages 1–3 of Tag-LLM on the tokenized preset build, after a small base trained on
  /// UniProt text: each stage lowers its validation loss. Stage 3 standardizes its targets (BA
  /// is in nM, up to 1e5: raw, its squared error would drown every other term).
  @Test func trainStagesOneToThreeOnTheShards() throws {
    let build = try Self.build.get()
    let dir = TestSupport.tempDirectory()
    let tokens = dir.appendingPathComponent("tokens").path
    try #require(try TestSupport.tagdata(["export", "--tokenized", build, "--out", tokens]).status == 0)
    let config = dir.appendingPathComponent("train.json").path
    func list(_ names: [String]) -> String { "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
    func stage(_ name: String, _ kind: String, _ tasks: [String], tags: [String], heads: [String] = [], length: Int) -> String {
      "{\"name\":\"\(name)\",\"kind\":\"\(kind)\",\"data\":{\"path\":\"tokens\",\"tasks\":\(list(tasks))},"
        + "\"tags\":[\(tags.map { "{\"name\":\"\($0)\",\"rows\":10}" }.joined(separator: ","))],\"heads\":\(list(heads)),\"standardizeTargets\":\(heads.contains("BA")),"
        + "\"steps\":\(heads.isEmpty ? 30 : 60),\"batch\":8,\"length\":\(length),\"learningRate\":0.01,\"warmup\":3,\"validateEvery\":15,\"checkpointEvery\":1000}"
    }
    let text = """
      {"seed": 7, "threads": 2, "model": {"dimension": 48, "layers": 2, "heads": 4, "feedForward": 96},
       "corpora": "\(TestSupport.root.appendingPathComponent("Corpora").path)",
       "stages": [
        {"name": "base", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 40, "batch": 8, "length": 64,
         "learningRate": 0.003, "warmup": 4, "validateEvery": 20, "checkpointEvery": 1000},
        \(stage("stage1", "domain", ["Protein", "SMILES", "Language"], tags: ["Protein", "SMILES", "EN", "FR", "RU", "DE", "IT", "EL", "ES", "PT"], length: 96)),
        \(stage("stage2", "function", ["QED", "Descriptor"], tags: ["QED", "Descriptor"], heads: ["QED", "Descriptor"], length: 128)),
        \(stage("stage3", "function", ["BA", "DC", "Translate"], tags: ["BA", "DC", "Translate"], heads: ["BA", "DC"], length: 128))
       ]}
      """
    try Data(text.utf8).write(to: URL(fileURLWithPath: config))
    let r = try TestSupport.tagdata(["train", "--config", config, "--out", dir.appendingPathComponent("run").path, "--json"])
    try #require(r.status == 0, "\(r.stderr)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], "\(r.stdout)")
    #expect(rows.count == 4)
    for row in rows {
      let first = try #require(row["firstValidationLoss"] as? Double), last = try #require(row["lastValidationLoss"] as? Double)
      print("\(row["stage"] ?? ""): validation loss \(first) -> \(last)")
      #expect(last < first, "\(row["stage"] ?? ""): validation loss \(first) -> \(last)")
    }
  }

  /// A damaged build: the error names the file and line, exit 1, and an earlier output stays as it was.
  @Test func damagedBuildsAreNamedAndLeaveTheOutputAlone() throws {
    let build = try Self.build.get()
    let dir = TestSupport.tempDirectory()
    let copy = dir.appendingPathComponent("build").path
    try FileManager.default.copyItem(atPath: build, toPath: copy)
    let out = dir.appendingPathComponent("tokens").path
    try #require(try TestSupport.tagdata(["export", "--tokenized", copy, "--out", out]).status == 0)
    let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted().map { FileManager.default.contents(atPath: out + "/" + $0) }
    let shard = try #require(try TokenizedExport.readManifest(copy).shardFiles.first)
    let original = try Data(contentsOf: URL(fileURLWithPath: copy + "/" + shard))
    var lines = original.split(separator: 0x0A, omittingEmptySubsequences: false)
    let damaged: [(String, Data, String)] = [
      ("a line cut short", Data(lines[0] + [0x0A] + lines[1].prefix(lines[1].count / 2) + [0x0A]), "\(shard):2"),
      ("a segment without its kind", Data((lines[0] + [0x0A]) + Data(String(decoding: lines[1], as: UTF8.self)
        .replacingOccurrences(of: "\"kind\": \"tag\", ", with: "").replacingOccurrences(of: "\"kind\":\"tag\",", with: "").utf8) + [0x0A]), "\(shard):2"),
      ("an unknown tag", Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "<SMILES>", with: "<SMILEZ>").utf8), "<SMILEZ>"),
      ("CRLF and a BOM", Data([0xEF, 0xBB, 0xBF]) + Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n").utf8), ""),
    ]
    lines.removeAll()
    for (what, bytes, place) in damaged {
      try bytes.write(to: URL(fileURLWithPath: copy + "/" + shard))
      let r = try TestSupport.tagdata(["export", "--tokenized", copy, "--out", out])
      if place.isEmpty {
        // Tolerated: the same examples as the clean shard.
        #expect(r.status == 0, "\(what): \(r.stderr)")
        let (_, e) = try TokenShards.read(from: out)
        try #require(try TestSupport.tagdata(["export", "--tokenized", build, "--out", out]).status == 0)
        #expect(try TokenShards.read(from: out).examples == e, "\(what)")
        continue
      }
      #expect(r.status == 1, "\(what): exit \(r.status)")
      #expect(r.stderr.contains(place), "\(what): \(r.stderr)")
      let after = try FileManager.default.contentsOfDirectory(atPath: out).sorted().map { FileManager.default.contents(atPath: out + "/" + $0) }
      #expect(after == before, "\(what): the earlier output changed")
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.contains("partial") }, "\(what): staging left behind")
    }
    try FileManager.default.removeItem(atPath: copy + "/manifest.json")
    let m = try TestSupport.tagdata(["export", "--tokenized", copy, "--out", out])
    #expect(m.status == 1 && m.stderr.contains("manifest.json"), "\(m.stderr)")
  }

  /// A Hugging Face base model with its own tokenizer: a byte-level BPE trained by `tagdata
  /// tokenize train` on the corpora, a tiny random transformers Llama (grouped-query attention)
  /// whose vocabulary is that tokenizer's. The build is exported with the base's tokenizer.json
  /// and Tag-LLM's stages 1 and 2 train on it, lowering their validation loss; shards made with
  /// another tokenizer are refused with a message saying which.
  @Test func baseModelWithItsOwnTokenizer() throws {
    guard let python = TestSupport.python else {
      if TestSupport.interopRequired { Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)") }
      return
    }
    let build = try Self.build.get()
    let dir = TestSupport.tempDirectory()
    let base = dir.appendingPathComponent("base").path
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    let text = TestSupport.corpus("tables/parallel_text_sample.tsv").path
    let t = try TestSupport.tagdata(["tokenize", "train", "--vocab-size", "400", "--min-frequency", "1", "--special", "<|endoftext|>",
                                      text, TestSupport.corpus("uniprot/flat/multi_ex.txt").path, "--output", base + "/tokenizer.json", "--json"])
    try #require(t.status == 0, "\(t.stderr)")
    let size = try #require((try JSONSerialization.jsonObject(with: Data(t.stdout.utf8)) as? [String: Any])?["vocabularySize"] as? Int)
    let script = """
      import sys, torch
      from transformers import LlamaConfig, LlamaForCausalLM
      torch.manual_seed(0)
      c = LlamaConfig(vocab_size=int(sys.argv[2]), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False)
      LlamaForCausalLM(c).save_pretrained(sys.argv[1])
      """
    let scriptPath = dir.appendingPathComponent("make_base.py").path
    try Data(script.utf8).write(to: URL(fileURLWithPath: scriptPath))
    let p = try TestSupport.run(python, [scriptPath, base, String(size)])
    if p.status != 0 && !TestSupport.interopRequired && p.stderr.contains("No module named") {
      print("skipped: \(p.stderr)")
      return
    }
    try #require(p.status == 0, "\(p.stderr)")
    let tokens = dir.appendingPathComponent("tokens").path, bytes = dir.appendingPathComponent("tokens-bytes").path
    let x = try TestSupport.tagdata(["export", "--tokenized", build, "--tokenizer", base + "/tokenizer.json", "--out", tokens, "--json"])
    try #require(x.status == 0, "\(x.stderr)")
    #expect((try JSONSerialization.jsonObject(with: Data(x.stdout.utf8)) as? [String: Any])?["textSize"] as? Int == size)
    try #require(try TestSupport.tagdata(["export", "--tokenized", build, "--out", bytes]).status == 0)
    func config(_ data: String) -> String {
      """
      {"seed": 5, "threads": 2, "base": "base",
       "stages": [
        {"name": "domain", "kind": "domain", "data": {"path": "\(data)", "tasks": ["SMILES", "Protein"]},
         "tags": [{"name": "SMILES", "rows": 10}, {"name": "Protein", "rows": 10}],
         "steps": 30, "batch": 4, "length": 96, "learningRate": 0.01, "warmup": 3, "validateEvery": 15, "checkpointEvery": 1000},
        {"name": "qed", "kind": "function", "data": {"path": "\(data)", "tasks": ["QED"]},
         "tags": [{"name": "QED", "rows": 10}], "heads": ["QED"],
         "steps": 30, "batch": 4, "length": 96, "learningRate": 0.01, "warmup": 3, "validateEvery": 15, "checkpointEvery": 1000}]}
      """
    }
    let good = dir.appendingPathComponent("train.json").path, bad = dir.appendingPathComponent("train-bytes.json").path
    try Data(config("tokens").utf8).write(to: URL(fileURLWithPath: good))
    try Data(config("tokens-bytes").utf8).write(to: URL(fileURLWithPath: bad))
    let r = try TestSupport.tagdata(["train", "--config", good, "--out", dir.appendingPathComponent("run").path, "--json"])
    try #require(r.status == 0, "\(r.stderr)")
    for row in try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) {
      let first = try #require(row["firstValidationLoss"] as? Double), last = try #require(row["lastValidationLoss"] as? Double)
      print("base model, \(row["stage"] ?? ""): validation loss \(first) -> \(last)")
      #expect(last < first, "\(row["stage"] ?? "")")
    }
    let w = try TestSupport.tagdata(["train", "--config", bad, "--out", dir.appendingPathComponent("run-bytes").path])
    #expect(w.status == 78 && w.stderr.contains("tokenizer.json"), "\(w.status): \(w.stderr)")
  }
}
