import Foundation
import TagdataChem
import TagdataEval
import TagdataTasks

/// The inputs of a build's regression records for the nearest-neighbour baseline: the OR of
/// each record's molecules' circular fingerprints (radius 2, 2048 bits), else its protein
/// sequence.
public enum BaselineFeatures {
  public static func load(build: String) throws -> [String: Evaluator.Feature] {
    var out: [String: Evaluator.Feature] = [:]
    for f in try TokenizedExport.readManifest(build).shardFiles {
      try TokenizedExport.forEachRecord(build + "/" + f) { r in
        guard let key = r.key, r.regression else { return }
        let smiles = r.segments.filter { $0.kind == .smiles }.map(\.text)
        if !smiles.isEmpty {
          var words = [UInt64](repeating: 0, count: 2048 / 64)
          for s in smiles {
            guard let m = try? Smiles.read(s) else { return }
            for (i, w) in Fingerprint(m).words.enumerated() { words[i] |= w }
          }
          out[key] = .fingerprint(words)
        } else if let p = r.segments.first(where: { $0.kind == .protein }) {
          out[key] = .sequence(Array(p.text.utf8.filter { $0 != 0x20 }))
        }
      }
    }
    return out
  }
}

/// The files of an evaluation: report.json, report.md, predictions.jsonl and the plots,
/// written into a new folder that replaces `dir` whole.
public enum EvalFiles {
  public static func write(_ report: Evaluator.Report, _ predictions: [Evaluator.Prediction], model: String, dataset: String,
                           to dir: String) throws
  {
    let fm = FileManager.default
    let parent = (dir as NSString).deletingLastPathComponent
    try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
    let tmp = parent + "/." + (dir as NSString).lastPathComponent + ".partial"
    try? fm.removeItem(atPath: tmp)
    try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    func put(_ data: Data, _ name: String) throws { try data.write(to: URL(fileURLWithPath: tmp + "/" + name)) }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    try put(try encoder.encode(report) + Data([0x0A]), "report.json")
    try put(Data(EvalReport.markdown(report, model: model, dataset: dataset).utf8), "report.md")
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var lines = Data()
    for p in predictions {
      lines += try encoder.encode(p)
      lines.append(0x0A)
    }
    try put(lines, "predictions.jsonl")
    for t in report.regression { try put(Data(EvalReport.scatter(t, predictions).utf8), EvalReport.plotName(t)) }
    if !report.language.isEmpty { try put(Data(EvalReport.perplexityBars(report.language).utf8), "perplexity.svg") }
    let old = parent + "/." + (dir as NSString).lastPathComponent + ".old"
    try? fm.removeItem(atPath: old)
    if fm.fileExists(atPath: dir) { try fm.moveItem(atPath: dir, toPath: old) }
    try fm.moveItem(atPath: tmp, toPath: dir)
    try? fm.removeItem(atPath: old)
  }
}
