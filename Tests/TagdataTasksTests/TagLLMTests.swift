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
