import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataTasks

/// The templates, ablations and label strings of Tag-LLM (FORMATS.md 7.2, 7.3), byte for byte.
@Suite struct TagLLMTests {
  @Test func templatesAreTheExactStrings() {
    #expect(TagLLM.templateString(.language, source: "EN") == "<EN> <input>")
    #expect(TagLLM.templateString(.protein) == "<Protein> <input>")
    #expect(TagLLM.templateString(.smiles) == "<SMILES> <input>")
    #expect(TagLLM.templateString(.translate) == "# # Input: <SRC> <input> \n# # Output: <TGT> <Translate> <output>")
    #expect(TagLLM.templateString(.descriptor)
      == "# # Input: The protein sequence is <Protein> <input>. \n# # Output: The descriptor value is <Descriptor> <output>.")
    #expect(TagLLM.templateString(.qed)
      == "# # Input: The SMILES of the molecule is <SMILES> <input>. \n# # Output: the quantitative estimate of druglikeness score is <QED> <output>.")
    #expect(TagLLM.templateString(.ba)
      == "# # Input: The protein sequence is <Protein> <input 0>. \nThe SMILES of the drug is <SMILES> <input 1>. \n# # Output: The binding affinity is <BA> <output>.")
    #expect(TagLLM.templateString(.dc)
      == "# # Input: Drug 1 is <input 2>. Its SMILES is <SMILES> <input 0>. \nDrug 2 is <input 3>. Its SMILES is <SMILES> <input 1>. \n# # Output: The drug combination sensitivity score is <DC> <output>.")
  }

  @Test func ablationsDropTagsAndCutAfterIs() {
    #expect(TagLLM.templateString(.qed, ablation: .noDomain)
      == "# # Input: The SMILES of the molecule is <input>. \n# # Output: the quantitative estimate of druglikeness score is <QED> <output>.")
    #expect(TagLLM.templateString(.qed, ablation: .noFunction)
      == "# # Input: The SMILES of the molecule is <SMILES> <input>. \n# # Output: the quantitative estimate of druglikeness score is <output>.")
    #expect(TagLLM.templateString(.qed, ablation: .none)
      == "# # Input: The SMILES of the molecule is <input>. \n# # Output: the quantitative estimate of druglikeness score is ")
    #expect(TagLLM.templateString(.dc, ablation: .none)
      == "# # Input: Drug 1 is <input 2>. Its SMILES is <input 0>. \nDrug 2 is <input 3>. Its SMILES is <input 1>. \n# # Output: The drug combination sensitivity score is ")
    #expect(TagLLM.templateString(.protein, ablation: .none) == "<Protein> <input>", "stage 1 learns the domain tag itself")
  }

  /// `repr(float)` and Tag-LLM's `str(value)[:6]` label, against Python itself on 20,000 doubles:
  /// random bit patterns, numbers at every decimal exponent, whole numbers, the edges where the
  /// notation changes, and their neighbours.
  @Test(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
  func reprAndLabelsMatchPythonOnManyDoubles() throws {
    guard let python = TestSupport.python else {
      Issue.record("no venv python")
      return
    }
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5EED_0009))
    var values: [Double] = [1e16, 1e15, 1e-4, 1e-5, 9.999999999999999e15, 0.00009999999999999999, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                            -0.0, 0.0, 1.0, -1.5, 123456789.0, 2.0e22, 1e100, 1e-300]
    while values.count < 20_000 {
      switch values.count % 4 {
      case 0: values.append(Double(bitPattern: rng.next()))
      case 1:
        let e = Double(rng.below(640)) - 330
        values.append(Double(rng.below(1_000_000)) * pow(10, e - 6) * (rng.below(2) == 0 ? 1 : -1))
      case 2: values.append(Double(rng.below(1 << 20)) / Double(1 << rng.below(21)))
      default:
        let x = values[rng.below(values.count)]
        values.append(x.nextUp)
      }
    }
    values = values.filter(\.isFinite)
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("bits.txt")
    try values.map { String($0.bitPattern, radix: 16) }.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
    let script = "import struct,sys\nfor l in open(sys.argv[1]):\n    x=struct.unpack('<d',int(l,16).to_bytes(8,'little'))[0]\n"
      + "    print(repr(x), str(x)[:6].ljust(6,'0'))\n"
    let r = try TestSupport.run(python, ["-c", script, input.path])
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n")
    #expect(lines.count == values.count)
    var bad: [String] = []
    for (x, line) in zip(values, lines) {
      let parts = line.split(separator: " ")
      let mine = "\(TagLLM.pythonRepr(x) ?? "nil") \(TagLLM.labelString(x) ?? "nil")"
      if parts.count != 2 || mine != "\(parts[0]) \(parts[1])" { bad.append("\(x.bitPattern): python \(line), ours \(mine)") }
    }
    #expect(bad.isEmpty, "\(bad.count) differ: \(bad.prefix(5))")
  }

  /// A builder makes label strings in a scratch buffer it reuses, and tells a cut exponent by its
  /// last byte: the same strings, and the same verdict as parsing them, over magnitudes from 1e-320
  /// to 1e308 of both signs.
  @Test func labelStringsFromScratchAndTheirNumberCheck() {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5EED_0019))
    var scratch: [UInt8] = []
    var cut = 0
    for _ in 0..<20_000 {
      let mantissa = Double(rng.next() % 1_000_000) / 1000
      let exponent = Int(rng.next() % 629) - 320
      let x = (rng.next() & 1 == 0 ? 1 : -1) * mantissa * pow(10, Double(exponent))
      let s = TagLLM.labelString(x, scratch: &scratch)
      #expect(s == TagLLM.labelString(x), "\(x)")
      if let s {
        #expect(TagLLM.labelStringIsNumber(s) == (Double(s) != nil), "\(x): \(s)")
        if Double(s) == nil { cut += 1 }
      }
    }
    #expect(cut > 100, "values whose exponent is cut: \(cut)")
    #expect(!TagLLM.labelStringIsNumber("1.42e+") && !TagLLM.labelStringIsNumber("-1.4e-"))
    #expect(TagLLM.labelStringIsNumber("1e-050") && TagLLM.labelStringIsNumber("12345."))
  }

  @Test func labelStringsTruncateLikePython() {
    #expect(TagLLM.labelString(0.123456789) == "0.1234")
    #expect(TagLLM.labelString(0.5) == "0.5000")
    #expect(TagLLM.labelString(12.3456) == "12.345")
    #expect(TagLLM.labelString(-1.5) == "-1.500")
    #expect(TagLLM.labelString(1e-05) == "1e-050")
    #expect(TagLLM.labelString(164) == "164.00")
    #expect(TagLLM.labelString(.nan) == nil)
    #expect(TagLLM.pythonRepr(1e16) == "1e+16")
    #expect(TagLLM.pythonRepr(1e15) == "1000000000000000.0")
    #expect(TagLLM.pythonRepr(0.0001) == "0.0001")
    #expect(TagLLM.pythonRepr(1.5e-7) == "1.5e-07")
    #expect(TagLLM.pythonRepr(123456789.0) == "123456789.0")
    #expect(TagLLM.pythonRepr(51.823 * 0.1) == "5.182300000000001", "Python: repr(51.823 * 0.1)")
    #expect(TagLLM.dcScaled(51.823) == 51.823 * 0.1)
    #expect(TagLLM.labelReadsBack("0.1234", 0.123456789))
    #expect(!TagLLM.labelReadsBack("1e-050", 1e-05))
    #expect(TagLLM.labelString(1234567.0) == "123456" && !TagLLM.labelReadsBack("123456", 1234567.0))
  }

  @Test func tagsExpandIntoConsecutiveVirtualTokens() {
    let reg = TagLLM.registry()
    let x = TagLLM.expansions(reg)
    #expect(x["EN"] == (0..<10).map { "<TAG \($0)>" }.joined())
    let k = reg.firstIndex { $0.name == "QED" }!
    #expect(x["QED"]!.hasPrefix("<TAG \(k * 10)><TAG \(k * 10 + 1)>"))
    #expect(reg.filter { $0.kind == .function }.map(\.name) == ["Descriptor", "QED", "BA", "DC", "Translate"])
    let segs = TagLLM.fill(.qed, ablation: .both, inputs: ["CCO"], inputKinds: [.smiles], output: "0.4068")
    let s = reg.firstIndex { $0.name == "SMILES" }! * 10
    let q = k * 10
    #expect(TagLLM.expand(segs, x) == "# # Input: The SMILES of the molecule is "
      + (s..<s + 10).map { "<TAG \($0)>" }.joined() + " CCO. \n# # Output: the quantitative estimate of druglikeness score is "
      + (q..<q + 10).map { "<TAG \($0)>" }.joined() + " 0.4068.")
    #expect(segs.map(\.kind) == [.text, .tag, .text, .smiles, .text, .tag, .text, .label, .text])
    #expect(TagLLM.registry(extraLanguages: ["zh", "en"]).map(\.name).prefix(9) == ["EN", "FR", "RU", "DE", "IT", "EL", "ES", "PT", "ZH"])
  }
}
