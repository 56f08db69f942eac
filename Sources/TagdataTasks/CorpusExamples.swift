#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TagdataIO
import TagdataShards
import TagdataSources
import TagdataTokenizer

/// Small datasets made from the shipped UniProt corpora, until the dataset exporter exists:
/// they feed the example configuration and the trainer's tests.
///
/// - `uniprot-text`: the free-text comments of every entry, byte tokens, cut into windows
///   (stage 0: the base learns the "language" domain).
/// - `protein-sequences`: `<bos> <Protein> sequence`, loss on the sequence (stage 1: the
///   `Protein` domain tag is learned from unlabeled sequences).
/// - `protein-hydrophobicity`: `<bos> <Protein> sequence <Hydrophobic>`, regression of the
///   fraction of hydrophobic residues (A, I, L, M, F, V, W) from the hidden state at the
///   function tag's last token (stage 2: a function tag and its head).
/// - `protein-length`: `<bos> <Protein> sequence <Length>`, regression of log10(length) / 4
///   (a second function tag on the same domain).
public enum CorpusExamples {
  struct MissingTag: Error, CustomStringConvertible {
    var description: String
  }

  public static func proteins(corpora: String) throws -> [ProteinRecord] {
    let dir = corpora + "/uniprot/flat"
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    var out: [ProteinRecord] = []
    for f in files {
      let opened = try openInput(dir + "/" + f)
      let reader = try makeProteinReader(format: .uniprotFlat, source: opened.source)
      while let e = try reader.next() { if case let .record(r) = e { out.append(r) } }
    }
    return out
  }

  /// Builds the dataset `name` from the corpora in `corpora`, for a model whose tags are `tags`
  /// (name → token ids) and whose text vocabulary has `vocabularySize` tokens.
  public static func build(_ name: String, corpora: String, tags: [String: [Int]], vocabularySize: Int, length: Int) throws
    -> TokenDataset
  {
    let records = try proteins(corpora: corpora)
    var examples: [TokenDataset.Example] = []
    func tag(_ n: String) throws -> [Int] {
      let t = tags[n] ?? []
      if t.isEmpty { throw MissingTag(description: "dataset \(name) needs the tag \(n) (declare it in this or an earlier stage)") }
      return t
    }
    switch name {
    case "uniprot-text":
      for r in records {
        for c in r.comments {
          let tokens = [ByteTokenizer.bos] + ByteTokenizer.encode(c.topic + ": " + c.text) + [ByteTokenizer.eos]
          var start = 0
          while start < tokens.count - 1 {
            let window = Array(tokens[start..<min(start + length, tokens.count)])
            var mask = [Bool](repeating: true, count: window.count)
            mask[0] = false
            examples.append(TokenDataset.Example(tokens: window, lossMask: mask, task: "text"))
            start += length - 1
          }
        }
      }
    case "protein-sequences":
      let protein = try tag("Protein")
      for r in records {
        let prefix = [ByteTokenizer.bos] + protein
        let body = ByteTokenizer.encode(String(decoding: r.sequence.prefix(max(1, length - prefix.count)), as: UTF8.self))
        examples.append(TokenDataset.Example(tokens: prefix + body,
                                             lossMask: [Bool](repeating: false, count: prefix.count) + [Bool](repeating: true, count: body.count),
                                             task: "Protein"))
      }
    case "protein-hydrophobicity", "protein-length":
      let name = name == "protein-length" ? "Length" : "Hydrophobic"
      let protein = try tag("Protein"), function = try tag(name)
      for r in records {
        let target: Float
        if name == "Length" {
          target = log10f(Float(max(r.sequence.count, 1))) / 4
        } else {
          let hydrophobic = r.sequence.filter { Array("AILMFVW".utf8).contains($0) }.count
          target = Float(hydrophobic) / Float(max(r.sequence.count, 1))
        }
        let room = max(1, length - 1 - protein.count - function.count)
        let tokens = [ByteTokenizer.bos] + protein + ByteTokenizer.encode(String(decoding: r.sequence.prefix(room), as: UTF8.self)) + function
        examples.append(TokenDataset.Example(tokens: tokens, lossMask: [Bool](repeating: false, count: tokens.count),
                                             task: name,
                                             regression: [TokenDataset.Regression(head: name, position: tokens.count - 1, target: Double(target))]))
      }
    default:
      throw MissingTag(description: "unknown built-in dataset \(name) (uniprot-text, protein-sequences, protein-hydrophobicity, protein-length)")
    }
    // A fixed shuffle, so that the validation split is a sample of all sources.
    var rng = SplitMix64(seed: 12345)
    for i in stride(from: examples.count - 1, to: 0, by: -1) { examples.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    return TokenDataset(vocabularySize: vocabularySize, tags: tags, examples: examples)
  }
}
