import Foundation
import Testing
import TagdataIO
import TestSupport
@testable import TagdataBio

@Suite struct ProteinAnalysisTests {
  static func values(_ s: String, _ d: [ProteinDescriptor]) throws -> [Double] {
    try ProteinAnalysis.descriptors(d, of: Array(s.utf8))
  }

  static func error(_ s: String, _ d: [ProteinDescriptor]) -> ProteinDescriptorError? {
    do {
      _ = try ProteinAnalysis.descriptors(d, of: Array(s.utf8))
      return nil
    } catch { return error }
  }

  static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }

  /// PETER by hand: masses of the free amino acids P 115.1305 + E 147.1293 + T 119.1192 + E 147.1293
  /// + R 174.2010 = 702.7093, less 4 waters (4 x 18.0153) = 630.6481. Kyte-Doolittle: (-1.6 - 3.5
  /// - 0.7 - 3.5 - 4.5) / 5 = -2.76. DIWV: PE 18.38 + ET 1.0 + TE 20.26 + ER 1.0 = 40.64, times
  /// 10/5 = 81.28. Helix E E (2/5), turn P (1/5), sheet T (1/5); no F, W, Y.
  @Test func peterByHand() throws {
    let v = try Self.values("PETER", ProteinDescriptor.allCases)
    let expected: [ProteinDescriptor: Double] = [
      .length: 5, .molWt: 630.6481, .gravy: -2.76, .aromaticity: 0, .instabilityIndex: 81.28,
      .helixFraction: 0.4, .turnFraction: 0.2, .sheetFraction: 0.2, .extinctionReduced: 0, .extinctionCystines: 0,
    ]
    for (k, d) in ProteinDescriptor.allCases.enumerated() {
      guard let e = expected[d] else { continue }
      #expect(Self.close(v[k], e), "\(d): \(v[k]) != \(e)")
    }
    // Biopython's documented example: the isoelectric point of PETER is 4.53 (two decimals).
    let pi = v[ProteinDescriptor.allCases.firstIndex(of: .pi)!]
    #expect(abs(pi - 4.53) < 0.005, "pI \(pi)")
  }

  /// WYCCW by hand: 2 W x 5500 + 1 Y x 1490 = 12490 reduced; one cystine (2 C) adds 125. Mass:
  /// 2 x 204.2252 + 181.1885 + 2 x 121.1582 - 4 x 18.0153 = 759.8941. Aromaticity 3/5.
  @Test func extinctionAndMassByHand() throws {
    let v = try Self.values("WYCCW", [.extinctionReduced, .extinctionCystines, .molWt, .aromaticity, .sheetFraction])
    #expect(v[0] == 12490)
    #expect(v[1] == 12615)
    #expect(Self.close(v[2], 759.8941))
    #expect(Self.close(v[3], 0.6))
    #expect(Self.close(v[4], 0.6))  // W Y W
  }

  /// The isoelectric point at both ends of the bisection interval [4.05, 12]: all-aspartate
  /// stays at the lower end, all-arginine at the upper end; INGAR is Biopython's documented 9.75.
  @Test func isoelectricPointBounds() throws {
    let d = try Self.values("DDDD", [.pi])[0], r = try Self.values("RRRR", [.pi])[0]
    let ingar = try Self.values("INGAR", [.pi])[0]
    #expect(d >= 4.05 && d < 4.06, "\(d)")
    #expect(r > 11.99 && r <= 12, "\(r)")
    #expect(abs(ingar - 9.75) < 0.005, "\(ingar)")
    // Lower case is folded, as Biopython does.
    #expect(try Self.values("ingar", ProteinDescriptor.allCases) == Self.values("INGAR", ProteinDescriptor.allCases))
  }

  /// peptides' own documented example: BLOSUM1 of KLKLLLLLKLK is -0.4827. By hand: 4 K x 1.14
  /// + 7 L x -1.41 = -5.31, over 11 residues = -0.482727...
  @Test func tagLLMDescriptorIsBLOSUM1() throws {
    #expect(ProteinAnalysis.tagLLMDescriptorName == "BLOSUM1")
    #expect(ProteinAnalysis.peptideDescriptorNames.first == ProteinAnalysis.tagLLMDescriptorName)
    let label = try ProteinAnalysis.tagLLMDescriptor(of: Array("KLKLLLLLKLK".utf8))
    #expect(Self.close(label, -5.31 / 11))
    let all = try ProteinAnalysis.peptideDescriptors(of: Array("KLKLLLLLKLK".utf8))
    #expect(all.count == 88)
    #expect(all[0] == label)
    // Z1 of PETER by hand: (-1.66 + 3.11 + 0.75 + 3.11 + 3.52) / 5 = 1.766.
    let peter = try ProteinAnalysis.peptideDescriptors(of: Array("PETER".utf8))
    #expect(Self.close(peter[ProteinAnalysis.peptideDescriptorNames.firstIndex(of: "Z1")!], 1.766))
  }

  @Test func peptideNamesInPeptidesOrder() {
    let names = ProteinAnalysis.peptideDescriptorNames
    #expect(names.count == 88)
    #expect(Set(names).count == 88)
    #expect(Array(names.prefix(12)) == ["BLOSUM1", "BLOSUM2", "BLOSUM3", "BLOSUM4", "BLOSUM5", "BLOSUM6", "BLOSUM7",
                                        "BLOSUM8", "BLOSUM9", "BLOSUM10", "PP1", "PP2"])
    #expect(Array(names.suffix(5)) == ["Z1", "Z2", "Z3", "Z4", "Z5"])
    #expect(ProteinDescriptor.peptideDescriptorNames == names)
    #expect(ProteinDescriptor.allCases.prefix(6).map(\.rawValue) == ["length", "mol_wt", "pi", "gravy", "aromaticity", "instability_index"])
  }

  // MARK: Rejections

  @Test func emptyAndNonLetters() {
    #expect(Self.error("", [.length]) == .empty)
    #expect(Self.error("PE TER", [.length]) == .invalidCharacter(byte: 0x20, position: 2))
    #expect(Self.error("PETER*", [.molWt]) == .invalidCharacter(byte: UInt8(ascii: "*"), position: 5))
    #expect(Self.error("PE-TER", [.pi]) == .invalidCharacter(byte: UInt8(ascii: "-"), position: 2))
    #expect(Self.error("PETER1", [.gravy]) == .invalidCharacter(byte: UInt8(ascii: "1"), position: 5))
    #expect(Self.error("PET\u{E9}R", [.length]) == .invalidCharacter(byte: 0xC3, position: 3))
    #expect(throws: ProteinDescriptorError.empty) { try ProteinAnalysis.peptideDescriptors(of: []) }
    #expect(throws: ProteinDescriptorError.invalidCharacter(byte: UInt8(ascii: "*"), position: 5)) {
      try ProteinAnalysis.peptideDescriptors(of: Array("PETER*".utf8))
    }
    let e = Self.error("PE TER", [.length])
    #expect(e?.description == "' ' at position 3 is not a residue letter" || e?.description.contains("position 3") == true)
  }

  @Test func selenocysteineAndPyrrolysine() throws {
    // Accepted where Biopython has a value: U and O weigh 168.0532 and 255.3134.
    let u = try Self.values("PETUR", [.length, .molWt, .aromaticity])
    #expect(u[0] == 5)
    let residues: Double = 115.1305 + 147.1293 + 119.1192 + 168.0532 + 174.201
    #expect(Self.close(u[1], residues - 4 * 18.0153))
    _ = try Self.values("OPETER", [.pi, .helixFraction, .turnFraction, .sheetFraction, .extinctionCystines])
    // Rejected where Biopython raises.
    #expect(Self.error("PETUR", [.gravy]) == .nonstandardResidue(byte: UInt8(ascii: "U"), position: 3, descriptor: "gravy"))
    #expect(Self.error("PEoTER", [.molWt, .instabilityIndex])
      == .nonstandardResidue(byte: UInt8(ascii: "o"), position: 2, descriptor: "instability_index"))
    #expect(throws: ProteinDescriptorError.nonstandardResidue(byte: UInt8(ascii: "U"), position: 3, descriptor: "peptides descriptors")) {
      try ProteinAnalysis.peptideDescriptors(of: Array("PETUR".utf8))
    }
  }

  @Test func ambiguityCodes() throws {
    // Length counts them; mass, GRAVY and instability have no value for any of them.
    #expect(try Self.values("BZJX", [.length]) == [4])
    for d in [ProteinDescriptor.molWt, .gravy, .instabilityIndex] {
      #expect(Self.error("PEBTER", [d]) == .ambiguousResidue(byte: UInt8(ascii: "B"), position: 2, descriptor: d.rawValue))
    }
    // pI: B may be D and Z may be E (charged), X anything; J (I or L) is never charged.
    #expect(Self.error("PETERB", [.pi]) == .ambiguousResidue(byte: UInt8(ascii: "B"), position: 5, descriptor: "pi"))
    #expect(Self.error("zPETER", [.pi]) == .ambiguousResidue(byte: UInt8(ascii: "z"), position: 0, descriptor: "pi"))
    #expect(try Self.values("PETJER", [.pi]) == Self.values("PETIER", [.pi]))
    #expect(try Self.values("PETJER", [.pi]) == Self.values("PETLER", [.pi]))
    // Aromaticity: only X may be aromatic.
    #expect(Self.error("PETXER", [.aromaticity]) == .ambiguousResidue(byte: UInt8(ascii: "X"), position: 3, descriptor: "aromaticity"))
    #expect(try Self.values("WBZJ", [.aromaticity]) == [0.25])
    // The first offending position is named, whichever descriptor finds it.
    #expect(Self.error("XPETERB", [.length, .aromaticity, .pi])
      == .ambiguousResidue(byte: UInt8(ascii: "X"), position: 0, descriptor: "aromaticity"))
    // peptides: every code rejected, and lower case too (peptides scores it 0).
    #expect(throws: ProteinDescriptorError.ambiguousResidue(byte: UInt8(ascii: "J"), position: 1, descriptor: "peptides descriptors")) {
      try ProteinAnalysis.peptideDescriptors(of: Array("PJETER".utf8))
    }
    #expect(throws: ProteinDescriptorError.lowercaseResidue(byte: UInt8(ascii: "e"), position: 1, descriptor: "peptides descriptors")) {
      try ProteinAnalysis.peptideDescriptors(of: Array("PeTER".utf8))
    }
  }

  /// Two values that do not depend on the letters: a pI pinned to an end of the interval
  /// Biopython searches (4.05 or 12) whatever the ambiguity codes stand for, and the instability
  /// index of a single residue (no dipeptide: 0).
  @Test func valuesThatDoNotDependOnTheLetter() throws {
    let pinned = try Self.values("DDDDDB", [.pi])[0]
    #expect(pinned == (try Self.values("DDDDDD", [.pi])[0]))
    #expect(pinned == (try Self.values("DDDDDN", [.pi])[0]))
    #expect(try Self.values("XRRRRRRRRRRRRRR", [.pi]) == Self.values("ARRRRRRRRRRRRRR", [.pi]))
    #expect(Self.error("XRRR", [.pi]) == .ambiguousResidue(byte: UInt8(ascii: "X"), position: 0, descriptor: "pi"))
    #expect(Self.error("DDB", [.pi]) == nil)
    #expect(Self.error("KB", [.pi]) == .ambiguousResidue(byte: UInt8(ascii: "B"), position: 1, descriptor: "pi"))
    for letter in "BJOUXZ" {
      #expect(try Self.values(String(letter), [.instabilityIndex]) == [0])
      #expect(Self.error("A" + String(letter), [.instabilityIndex]) != nil)
    }
  }

  /// The rule behind accepting an ambiguity code: the value must not depend on which residue it
  /// stands for. For every descriptor and code we accept, each member residue gives the value
  /// of the code; for every one we reject, some member would change it (checked on a sequence
  /// holding all 20 residues, with the code at the start, middle and end).
  @Test func acceptedAmbiguityCodesDoNotChangeTheValue() throws {
    let members: [UInt8: String] = [
      UInt8(ascii: "B"): "DN", UInt8(ascii: "Z"): "EQ", UInt8(ascii: "J"): "IL", UInt8(ascii: "X"): "ACDEFGHIKLMNPQRSTVWY",
    ]
    let base = Array("MACDEFGHIKLMNPQRSTVWYK".utf8)
    // Biopython counts a code as a residue of no class: the value it gives is that of a
    // residue outside every class, such as U (no charge, not aromatic, no helix/turn/sheet).
    for d in ProteinDescriptor.allCases where d != .length {
      for (code, ms) in members {
        for position in [0, 11, base.count] {
          var withCode = base
          withCode.insert(code, at: position)
          var asNeutral = base
          asNeutral.insert(UInt8(ascii: "U"), at: position)
          let memberValues = try ms.utf8.map { m -> Double in
            var s = base
            s.insert(m, at: position)
            return try ProteinAnalysis.descriptors([d], of: s)[0]
          }
          let dependsOnMember = memberValues.contains { $0 != memberValues[0] }
          let neutral = try? ProteinAnalysis.descriptors([d], of: asNeutral)[0]
          let wellDefined = !dependsOnMember && neutral.map { $0 == memberValues[0] } ?? false
          let ours = try? ProteinAnalysis.descriptors([d], of: withCode)[0]
          if wellDefined {
            #expect(ours == memberValues[0], "\(d) \(Character(Unicode.Scalar(code))) at \(position) should be accepted")
          } else {
            #expect(ours == nil, "\(d) \(Character(Unicode.Scalar(code))) at \(position) should be rejected")
          }
        }
      }
    }
  }

  @Test func appendingIntoAndBufferAPIAgree() throws {
    let s = Array("MKTAYIAKQRQISFVKSHFSRQ".utf8)
    var out: [Double] = [42]
    try s.withUnsafeBufferPointer { b in
      try ProteinAnalysis.descriptors(ProteinDescriptor.allCases, of: b, into: &out)
      try ProteinAnalysis.peptideDescriptors(of: b, into: &out)
    }
    #expect(out.count == 1 + ProteinDescriptor.allCases.count + 88)
    #expect(Array(out[1...ProteinDescriptor.allCases.count]) == (try ProteinAnalysis.descriptors(ProteinDescriptor.allCases, of: s)))
    #expect(Array(out.suffix(88)) == (try ProteinAnalysis.peptideDescriptors(of: s)))
  }
}

/// Any bytes: a value (finite) or a typed error that names a position holding a byte the rule
/// rejects; never a crash.
@Suite struct ProteinAnalysisRobustnessTests {
  @Test func randomBytesGiveAValueOrAReason() {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 20261205))
    let alphabet = Array("ACDEFGHIKLMNPQRSTVWYBZJXUOacdekwy*- \t\u{0}".utf8) + [0x80, 0xC3, 0xFF]
    var values = 0, rejected = 0
    for round in 0..<20_000 {
      let n = rng.below(round % 10 == 0 ? 300 : 12)
      let s = (0..<n).map { _ in rng.below(4) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[rng.below(alphabet.count)] }
      let wanted = ProteinDescriptor.allCases.filter { _ in rng.below(2) == 0 }
      for attempt in 0..<2 {
        do {
          let v = attempt == 0 ? try ProteinAnalysis.descriptors(wanted, of: s) : try ProteinAnalysis.peptideDescriptors(of: s)
          #expect(v.count == (attempt == 0 ? wanted.count : 88))
          #expect(v.allSatisfy { $0.isFinite }, "\(s)")
          values += 1
        } catch {
          rejected += 1
          switch error {
          case .empty: #expect(s.isEmpty)
          case let .invalidCharacter(b, p):
            #expect(p < s.count && s[p] == b && !(b >= 65 && b <= 90) && !(b >= 97 && b <= 122))
          case let .ambiguousResidue(b, p, _):
            #expect(p < s.count && s[p] == b && "BZJXbzjx".utf8.contains(b))
          case let .nonstandardResidue(b, p, _):
            #expect(p < s.count && s[p] == b && "UOuo".utf8.contains(b))
          case let .lowercaseResidue(b, p, _):
            #expect(attempt == 1 && p < s.count && s[p] == b && b >= 97 && b <= 122)
          }
        }
      }
    }
    #expect(values > 1000 && rejected > 1000, "values \(values), rejected \(rejected)")
  }
}
