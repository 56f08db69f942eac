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
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    var files: [(String, Data)] = [("report.json", try encoder.encode(report) + Data([0x0A])),
                                   ("report.md", Data(EvalReport.markdown(report, model: model, dataset: dataset).utf8))]
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var lines = Data()
    for p in predictions {
      lines += try encoder.encode(p)
      lines.append(0x0A)
    }
    files.append(("predictions.jsonl", lines))
    for t in report.regression { files.append((EvalReport.plotName(t), Data(EvalReport.scatter(t, predictions).utf8))) }
    if !report.language.isEmpty { files.append(("perplexity.svg", Data(EvalReport.perplexityBars(report.language).utf8))) }
    try writeFolder(files, to: dir)
  }
}
