import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing
@testable import TagdataBio

/// Protein descriptors checked against Biopython 1.88 (ProteinAnalysis) and peptides 0.3.2
/// (Peptide.descriptors) on every sequence of the shipped UniProt corpora (read with the library
/// readers), plus variants of some of them with the letters the tools treat specially (ambiguity
/// codes, U, O, lower case, stops, gaps) and short edge cases.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct ProteinDescriptorInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/protein_descriptors.py").path

  /// (id, sequence as read) for every record of every file under Corpora/uniprot.
  static func corpusSequences() throws -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    for folder in ["uniprot/fasta", "uniprot/flat", "uniprot/xml", "uniprot/compressed"] {
      for url in TestSupport.corpusFiles(folder) {
        let opened = try openInput(url.path)
        let head = try opened.source.readPrefix(InputFormat.detectionBytes)
        guard let format = try InputFormat.detect(head, file: url.lastPathComponent).proteinFormat else { continue }
        let reader = try makeProteinReader(format: format, source: PrefixedSource(prefix: head, inner: opened.source))
        while let event = try reader.next() {
          if case let .record(r) = event {
            out.append(("\(folder)/\(url.lastPathComponent)#\(r.location.index)", r.sequence))
          }
        }
      }
    }
    return out
  }

  /// Sequences made from real ones with the letters that need a rule, and short edge cases.
  static func variants(of corpus: [(String, [UInt8])]) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    let specials = Array("BZJXUObzjxuo*-. 1".utf8)
    for (id, s) in corpus.prefix(40) where s.count > 10 {
      for c in specials {
        for position in [0, s.count / 2, s.count] {
          var v = s
          v.insert(c, at: position)
          out.append(("\(id)+\(Character(Unicode.Scalar(c)))@\(position)", v))
        }
      }
      out.append(("\(id) lower", s.map { $0 | 0x20 }))
      out.append(("\(id) one lower", s.enumerated().map { $0.offset == 3 ? $0.element | 0x20 : $0.element }))
    }
    let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    for a in letters { out.append(("single \(Character(Unicode.Scalar(a)))", [a])) }
    for a in letters { for b in letters { out.append(("pair", [a, b])) } }
    for s in ["", "*", "PETER", "INGAR", "DDDD", "RRRR", "EEEEEEEEEEEE", "KLKLLLLLKLK", "CCCCCCC", "WYCCW", "XXXX",
              "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGP"]
    {
      out.append(("edge \(s)", Array(s.utf8)))
    }
    return out
  }

  static func cell(_ v: Double) -> String { "\(v)" }

  @Test func sameValuesAsBiopythonAndPeptides() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let corpus = try Self.corpusSequences()
    #expect(corpus.count > 150, "corpus sequences: \(corpus.count)")
    let all = corpus + Self.variants(of: corpus)
    var tsv = "id\tsequence\t" + ProteinDescriptor.allCases.map(\.rawValue).joined(separator: "\t") + "\t"
      + ProteinAnalysis.peptideDescriptorNames.joined(separator: "\t") + "\n"
    var accepted = 0
    for (id, s) in all {
      // Every field of the TSV must survive: tabs and newlines are not residues (none are read).
      precondition(!s.contains(9) && !s.contains(10) && !s.contains(13))
      tsv += id + "\t" + String(decoding: s, as: UTF8.self)
      var allAccepted = true
      for d in ProteinDescriptor.allCases {
        do {
          tsv += "\t" + Self.cell(try ProteinAnalysis.descriptors([d], of: s)[0])
        } catch {
          tsv += "\t!" + Self.kind(error)
          #expect(!error.description.isEmpty)
          allAccepted = false
        }
      }
      do {
        let values = try ProteinAnalysis.peptideDescriptors(of: s)
        for v in values { tsv += "\t" + Self.cell(v) }
      } catch {
        tsv += String(repeating: "\t!" + Self.kind(error), count: 88)
        allAccepted = false
      }
      if allAccepted { accepted += 1 }
      tsv += "\n"
    }
    let dir = TestSupport.tempDirectory()
    let file = dir.appendingPathComponent("protein_descriptors.tsv")
    try Data(tsv.utf8).write(to: file)
    let check = try TestSupport.run(python, [Self.script, file.path])
    for line in check.stdout.split(separator: "\n") where line.hasPrefix("DISAGREE") { print(line) }
    #expect(check.status == 0, "\(check.stderr.suffix(2000))")
    let summary = check.stdout.split(separator: "\n").last { $0.hasPrefix("SUMMARY ") } ?? ""
    var s: [String: Int] = [:]
    for kv in summary.dropFirst(8).split(separator: " ") {
      let p = kv.split(separator: "=")
      if p.count == 2 { s[String(p[0])] = Int(p[1]) }
    }
    print("protein descriptors: \(corpus.count) corpus sequences + \(all.count - corpus.count) variants; "
      + "accepted by every descriptor: \(accepted). \(summary)")
    #expect(s["sequences"] == all.count)
    #expect(s["disagreements"] == 0)
    #expect(s["bio_values"] ?? 0 > corpus.count * 5)
    #expect(s["bio_agree"] == s["bio_values"])
    #expect(s["seq_pep_accepted"] ?? 0 > corpus.count / 2)
    #expect(s["pep_agree"] == s["seq_pep_accepted"])
    #expect(s["corpus_sequences"] == corpus.count)
  }

  /// Sources/TagdataBio/ProteinScales.swift is what Scripts/generate-protein-scales writes from
  /// the installed Biopython and peptides.
  @Test func scaleTablesAreCurrent() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let out = TestSupport.tempDirectory().appendingPathComponent("ProteinScales.swift")
    let generator = TestSupport.root.appendingPathComponent("Scripts/generate-protein-scales").path
    let run = try TestSupport.run(python, [generator, out.path])
    #expect(run.status == 0, "\(run.stderr)")
    let committed = try Data(contentsOf: TestSupport.root.appendingPathComponent("Sources/TagdataBio/ProteinScales.swift"))
    #expect(try Data(contentsOf: out) == committed, "regenerate with Scripts/generate-protein-scales")
  }

  /// The checker itself finds a wrong value, a wrong rejection and a wrong acceptance.
  @Test func checkerReportsDisagreements() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    func row(_ id: String, _ s: String) throws -> [String] {
      let bytes = Array(s.utf8)
      var f = [id, s]
      for d in ProteinDescriptor.allCases {
        f.append((try? ProteinAnalysis.descriptors([d], of: bytes)[0]).map(Self.cell) ?? "!ambiguousResidue")
      }
      f += try ProteinAnalysis.peptideDescriptors(of: bytes).map(Self.cell)
      return f
    }
    var good = try row("good", "PETER")
    var wrongValue = try row("wrong value", "PETER")
    wrongValue[2 + ProteinDescriptor.allCases.firstIndex(of: .pi)!] = "4.54"
    var wrongReject = try row("wrong rejection", "PETER")
    wrongReject[2 + ProteinDescriptor.allCases.firstIndex(of: .gravy)!] = "!ambiguousResidue"
    var wrongPeptide = try row("wrong peptide value", "PETER")
    wrongPeptide[2 + ProteinDescriptor.allCases.count + 87] = "0.5"
    good[0] = "good"
    let header = ["id", "sequence"] + ProteinDescriptor.allCases.map(\.rawValue) + ProteinAnalysis.peptideDescriptorNames
    let text = [header, good, wrongValue, wrongReject, wrongPeptide].map { $0.joined(separator: "\t") }.joined(separator: "\n") + "\n"
    let file = TestSupport.tempDirectory().appendingPathComponent("wrong.tsv")
    try Data(text.utf8).write(to: file)
    let check = try TestSupport.run(python, [Self.script, file.path])
    #expect(check.status == 1)
    let reported = check.stdout.split(separator: "\n").filter { $0.hasPrefix("DISAGREE") }
    #expect(reported.count == 3, "\(check.stdout)")
    for id in ["wrong value", "wrong rejection", "wrong peptide value"] {
      #expect(reported.contains { $0.hasPrefix("DISAGREE \(id) ") }, "\(id) not reported")
    }
  }

  static func kind(_ e: ProteinDescriptorError) -> String {
    switch e {
    case .empty: return "empty"
    case .invalidCharacter: return "invalidCharacter"
    case .ambiguousResidue: return "ambiguousResidue"
    case .nonstandardResidue: return "nonstandardResidue"
    case .lowercaseResidue: return "lowercaseResidue"
    }
  }
}
