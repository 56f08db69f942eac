import TagdataChem
import TagdataLabels
import Testing

@Suite struct RegistryTests {
  @Test func namesAreUniquePerKindAndAliasesResolve() throws {
    for kind in LabelKind.allCases {
      let names = DescriptorRegistry.descriptors(of: kind).map { $0.name.lowercased() }
      #expect(Set(names).count == names.count, "\(kind)")
    }
    #expect(DescriptorRegistry.named("MolLogP")?.name == "logp")
    #expect(DescriptorRegistry.named("qed")?.name == "qed" && DescriptorRegistry.named("QED")?.name == "qed")
    #expect(DescriptorRegistry.named("descriptor")?.name == "BLOSUM1")
    #expect(DescriptorRegistry.named("mol_wt")?.kind == .molecule)
    #expect(DescriptorRegistry.named("mol_wt", kind: .protein)?.kind == .protein)
    #expect(throws: DescriptorNameError.self) { try DescriptorRegistry.resolve("tpsa,nonsense", kind: nil) }
    #expect(try DescriptorRegistry.resolve("tpsa, TPSA ,formula", kind: nil).map(\.name) == ["tpsa", "formula"])
    // Tag-LLM's <Descriptor> label is peptides' first value.
    #expect(DescriptorRegistry.protein.first { $0.aliases.contains("descriptor") }?.name == "BLOSUM1")
    #expect(DescriptorRegistry.protein.filter { $0.reference.hasPrefix("peptides") }.count == 88)
  }

  @Test func moleculeLabelsOfAspirin() throws {
    let chosen = try DescriptorRegistry.resolve("mol_wt,formula,heavy_atoms,tpsa,scaffold", kind: .molecule)
    let v = MoleculeLabeler(chosen).label(smiles: Array("CC(=O)Oc1ccccc1C(=O)O".utf8))
    guard case let .number(mw) = v[0] else { Issue.record("\(v)"); return }
    #expect(abs(mw - 180.159) < 1e-3)
    #expect(v[1] == .text("C9H8O4"))
    #expect(v[2] == .number(13))
    guard case let .number(tpsa) = v[3] else { Issue.record("\(v)"); return }
    #expect(abs(tpsa - 63.6) < 1e-9)
    #expect(v[4] == .text("c1ccccc1"))
    // A SMILES that cannot be read: every value missing, with the reason.
    let bad = MoleculeLabeler(chosen).label(smiles: Array("C1CC".utf8))
    #expect(bad.allSatisfy { if case let .missing(r) = $0 { return r.contains("SMILES") }; return false })
  }

  /// A sequence with an ambiguity code: the descriptors it leaves undefined have no value and a
  /// reason, the others a value.
  @Test func proteinLabelsKeepWhatIsDefined() throws {
    let chosen = try DescriptorRegistry.resolve("length,gravy,BLOSUM1", kind: .protein)
    let clean = ProteinLabeler(chosen).label(sequence: Array("MKTAYIAKQR".utf8))
    #expect(clean[0] == .number(10))
    #expect(clean.allSatisfy { if case .number = $0 { return true }; return false })
    let withX = ProteinLabeler(chosen).label(sequence: Array("MKTXYIAKQR".utf8))
    #expect(withX[0] == .number(10))
    guard case .missing = withX[1], case .missing = withX[2] else { Issue.record("\(withX)"); return }
  }
}
