import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataSources

@Suite struct PubChemASNReaderTests {
  func records(_ bytes: [UInt8]) throws -> [MoleculeEvent] {
    let reader = PubChemASNReader(source: MemorySource(bytes, name: "mem.asn"))
    var out: [MoleculeEvent] = []
    while let e = try reader.next() { out.append(e) }
    return out
  }

  @Test func detectsTheFormat() throws {
    for file in ["pubchem/asn/cid1.asn", "pubchem/asn/list.asn"] {
      let head = Array(try Data(contentsOf: TestSupport.corpus(file)).prefix(4096))
      #expect(MoleculeFormat.detect(head) == .pubchemASN, "\(file)")
    }
    #expect(MoleculeFormat.detect(Array("PC-Compounds ::= {\n".utf8)) == .pubchemASN)
    #expect(MoleculeFormat.detect(Array("PC-Compoundsx ::= {\n".utf8)) == nil)
  }

  /// Values as PubChem writes them: reals as { mantissa, base, exponent }, hex strings,
  /// CHOICE values, strings with doubled quotes.
  @Test func readsTheValueNotation() throws {
    let text = """
      PC-Compound ::= {
        id { id cid 42 },
        atoms { aid { 1, 2 }, element { c, o }, charge { { aid 2, value -1 } }, isotope { { aid 1, value 13 } } },
        bonds { aid1 { 1 }, aid2 { 2 }, order { single } },
        coords { { type { twod }, aid { 1, 2 }, conformers { { x { { 15, 10, -1 }, { 25, 10, -1 } }, y { 0, { 1, 2, 1 } } } } } },
        props {
          { urn { label "SMILES", name "Isomeric" }, value sval "[13CH3][O-]" },
          { urn { label "Fingerprint" }, value binary '00FF
      10'H },
          { urn { label "IUPAC Name", name "Preferred" }, value sval "a ""quoted"" name" },
          { urn { label "Molecular Weight" }, value fval { 32045, 10, -3 } }
        }
      }
      """
    let events = try records(Array(text.utf8))
    guard events.count == 1, case let .record(r) = events[0], case let .table(table) = r.structure else {
      Issue.record("expected one record: \(events)")
      return
    }
    #expect(r.cid == 42)
    #expect(r.pubchemSmiles == "[13CH3][O-]")
    #expect(r.weight == "32.045")
    #expect(table.atoms.map(\.element) == [6, 8])
    #expect(table.atoms[0].isotope == 13 && table.atoms[1].charge == -1)
    #expect(table.atoms.map(\.x) == [1.5, 2.5] && table.atoms.map(\.y) == [0, 2])
    #expect(table.bonds.count == 1)
  }

  /// Mutated copies of a real record (truncated, bytes replaced, deleted or inserted) never
  /// crash or hang the reader: each ends in records, malformed records or an error.
  @Test func mutatedInputNeverCrashes() throws {
    let original = Array(try Data(contentsOf: TestSupport.corpus("pubchem/asn/list.asn")))
    let alphabet = Array("{},'\"-0123456789abcxyz ::=\n".utf8)
    var rng = SplitMix64(seed: 11)
    var outcomes = [0, 0, 0]  // clean, with malformed records, error
    for _ in 0..<2000 {
      var bytes = original
      switch rng.next() % 4 {
      case 0: bytes = Array(bytes.prefix(rng.below(bytes.count)))
      case 1:
        for _ in 0...rng.below(8) { bytes[rng.below(bytes.count)] = alphabet[rng.below(alphabet.count)] }
      case 2:
        let at = rng.below(bytes.count)
        bytes.removeSubrange(at..<min(bytes.count, at + 1 + rng.below(40)))
      default:
        bytes.insert(contentsOf: Array(repeating: alphabet[rng.below(alphabet.count)], count: 1 + rng.below(5)),
                     at: rng.below(bytes.count))
      }
      do {
        let events = try records(bytes)
        outcomes[events.contains { if case .malformed = $0 { return true } else { return false } } ? 1 : 0] += 1
      } catch {
        #expect("\(error)".contains("mem.asn"), "\(error)")
        outcomes[2] += 1
      }
    }
    print("mutated ASN.1: \(outcomes[0]) clean, \(outcomes[1]) with malformed records, \(outcomes[2]) errors")
    #expect(outcomes[2] > 0)
  }
}
