import TagdataBio
import TagdataChem

/// What a descriptor is computed from.
public enum LabelKind: String, Sendable, CaseIterable {
  /// A molecule, read from SMILES.
  case molecule
  /// A protein sequence.
  case protein
}

/// A descriptor tagdata can compute: its stable name (what catalogs, builds and configs use), the
/// version of its definition, what it means and which reference tool's value it equals.
public struct DescriptorInfo: Sendable, Equatable, Hashable {
  public let name: String
  public let kind: LabelKind
  /// Bumped whenever the definition (and so a value) changes; labels stored under another
  /// version are recomputed.
  public let version: String
  public let summary: String
  /// The function of the reference tool whose value this equals.
  public let reference: String
  /// Other names it answers to (the reference tool's own name, Tag-LLM's task name).
  public let aliases: [String]
}

/// A computed label: a number, a text (a formula, a scaffold), or no value and why.
public enum LabelValue: Sendable, Equatable {
  case number(Double)
  case text(String)
  case missing(reason: String)
}

/// A descriptor name that is not known, or known only for the other kind.
public struct DescriptorNameError: Error, Sendable, CustomStringConvertible {
  public var name: String
  public var kind: LabelKind?
  public init(name: String, kind: LabelKind?) {
    self.name = name
    self.kind = kind
  }
  public var description: String {
    let scope = kind.map { " for \($0.rawValue)s" } ?? ""
    return "unknown descriptor '\(name)'\(scope) (tagdata describe --list shows them all)"
  }
}

/// Every descriptor, molecular and protein, by stable name.
public enum DescriptorRegistry {
  /// The version of every definition below; a definition that changes gets a version of its own.
  static let initialVersion = "1"

  /// Molecule descriptors: the chemistry module's (RDKit-equal), then the scaffolds.
  public static let molecule: [DescriptorInfo] =
    MoleculeDescriptor.allCases.map { d in
      let (summary, reference, aliases) = moleculeDocs[d.rawValue] ?? (d.rawValue, "", [])
      return DescriptorInfo(name: d.rawValue, kind: .molecule, version: initialVersion, summary: summary,
                            reference: reference, aliases: aliases)
    } + [
      DescriptorInfo(name: "scaffold", kind: .molecule, version: initialVersion,
                     summary: "Bemis-Murcko scaffold as canonical SMILES (empty without rings)",
                     reference: "RDKit MurckoScaffold.GetScaffoldForMol", aliases: ["murcko"]),
      DescriptorInfo(name: "generic_scaffold", kind: .molecule, version: initialVersion,
                     summary: "generic Bemis-Murcko scaffold (all carbon, single bonds) as canonical SMILES",
                     reference: "RDKit MurckoScaffold.MakeScaffoldGeneric(GetScaffoldForMol)", aliases: []),
    ]

  /// Protein descriptors: Biopython's `ProteinAnalysis` values, then the 88 of peptides'
  /// `Peptide.descriptors()` in its order (the first, BLOSUM1, is Tag-LLM's `<Descriptor>`).
  public static let protein: [DescriptorInfo] =
    ProteinDescriptor.allCases.map { d in
      let (summary, reference) = proteinDocs[d.rawValue] ?? (d.rawValue, "")
      return DescriptorInfo(name: d.rawValue, kind: .protein, version: initialVersion, summary: summary,
                            reference: reference, aliases: [])
    } + ProteinAnalysis.peptideDescriptorNames.map { name in
      DescriptorInfo(name: name, kind: .protein, version: initialVersion,
                     summary: name == ProteinAnalysis.tagLLMDescriptorName
                       ? "\(name): mean per-residue scale value; Tag-LLM's <Descriptor> label" : "\(name): mean per-residue scale value",
                     reference: "peptides 0.3.2 Peptide(seq).descriptors()['\(name)']",
                     aliases: name == ProteinAnalysis.tagLLMDescriptorName ? ["descriptor"] : [])
    }

  public static var all: [DescriptorInfo] { molecule + protein }

  public static func descriptors(of kind: LabelKind) -> [DescriptorInfo] { kind == .molecule ? molecule : protein }

  /// The descriptor called `name` (its stable name or an alias, in any case), of `kind` when
  /// given; a name both kinds know (`mol_wt`) is the molecule one unless `kind` says otherwise.
  public static func named(_ name: String, kind: LabelKind? = nil) -> DescriptorInfo? {
    let key = name.lowercased()
    for d in kind.map(descriptors(of:)) ?? all {
      if d.name.lowercased() == key || d.aliases.contains(where: { $0.lowercased() == key }) { return d }
    }
    return nil
  }

  /// Descriptors from a comma-separated list, in its order, repeats dropped.
  public static func resolve(_ list: String, kind: LabelKind?) throws(DescriptorNameError) -> [DescriptorInfo] {
    var out: [DescriptorInfo] = []
    for part in list.split(separator: ",") {
      let name = String(part).trimmingBlanks()
      if name.isEmpty { continue }
      guard let d = named(name, kind: kind) else { throw DescriptorNameError(name: name, kind: kind) }
      if !out.contains(d) { out.append(d) }
    }
    return out
  }

  /// Descriptors from a comma-separated list for each of `kinds`: a name both kinds know
  /// (`mol_wt`) gives both; a name no kind knows is an error.
  public static func resolve(_ list: String, kinds: [LabelKind]) throws(DescriptorNameError) -> [DescriptorInfo] {
    var out: [DescriptorInfo] = []
    for part in list.split(separator: ",") {
      let name = String(part).trimmingBlanks()
      if name.isEmpty { continue }
      let found = kinds.compactMap { named(name, kind: $0) }
      if found.isEmpty { throw DescriptorNameError(name: name, kind: kinds.count == 1 ? kinds[0] : nil) }
      for d in found where !out.contains(d) { out.append(d) }
    }
    return out
  }

  /// Summary, reference function and aliases of the chemistry module's descriptors.
  static let moleculeDocs: [String: (String, String, [String])] = [
    "mol_wt": ("average molecular weight (implicit H included)", "RDKit Descriptors.MolWt", ["MolWt"]),
    "heavy_atom_mol_wt": ("average molecular weight of the heavy atoms", "RDKit Descriptors.HeavyAtomMolWt",
                          ["HeavyAtomMolWt"]),
    "exact_mol_wt": ("monoisotopic mass", "RDKit Descriptors.ExactMolWt", ["ExactMolWt"]),
    "formula": ("molecular formula, Hill order, charge suffix", "RDKit rdMolDescriptors.CalcMolFormula", ["MolFormula"]),
    "heavy_atoms": ("atoms other than hydrogen", "RDKit Descriptors.HeavyAtomCount", ["HeavyAtomCount"]),
    "hbd": ("H-bond donors (Lipinski)", "RDKit Lipinski.NumHDonors", ["NumHDonors"]),
    "hba": ("H-bond acceptors (Lipinski)", "RDKit Lipinski.NumHAcceptors", ["NumHAcceptors"]),
    "nhoh_count": ("hydrogens on N and O", "RDKit Lipinski.NHOHCount", ["NHOHCount"]),
    "no_count": ("N and O atoms", "RDKit Lipinski.NOCount", ["NOCount"]),
    "rotatable_bonds": ("rotatable bonds (strict definition)", "RDKit Descriptors.NumRotatableBonds",
                        ["NumRotatableBonds"]),
    "tpsa": ("topological polar surface area, N and O (Ertl)", "RDKit Descriptors.TPSA", ["TPSA"]),
    "tpsa_sp": ("topological polar surface area with S and P", "RDKit rdMolDescriptors.CalcTPSA(includeSandP=True)", []),
    "logp": ("Wildman-Crippen logP", "RDKit Crippen.MolLogP", ["MolLogP"]),
    "mr": ("Wildman-Crippen molar refractivity", "RDKit Crippen.MolMR", ["MolMR"]),
    "rings": ("rings of the smallest set", "RDKit rdMolDescriptors.CalcNumRings", ["RingCount"]),
    "aromatic_rings": ("rings whose bonds are all aromatic", "RDKit rdMolDescriptors.CalcNumAromaticRings",
                       ["NumAromaticRings"]),
    "aliphatic_rings": ("rings with a non-aromatic bond", "RDKit Descriptors.NumAliphaticRings", ["NumAliphaticRings"]),
    "saturated_rings": ("rings of single bonds only", "RDKit Descriptors.NumSaturatedRings", ["NumSaturatedRings"]),
    "fraction_csp3": ("fraction of carbons that are sp3", "RDKit rdMolDescriptors.CalcFractionCSP3", ["FractionCSP3"]),
    "qed": ("quantitative estimate of drug-likeness (mean weights); Tag-LLM's <QED> label", "RDKit QED.qed", ["QED"]),
    "qed_max": ("QED with the maximal weights", "RDKit QED.weights_max", ["weights_max"]),
    "qed_none": ("QED unweighted", "RDKit QED.weights_none", ["weights_none"]),
  ]

  static let proteinDocs: [String: (String, String)] = [
    "length": ("residues", "Biopython ProteinAnalysis.length"),
    "mol_wt": ("average molecular weight", "Biopython ProteinAnalysis.molecular_weight()"),
    "pi": ("isoelectric point", "Biopython ProteinAnalysis.isoelectric_point()"),
    "gravy": ("grand average of hydropathy (Kyte-Doolittle)", "Biopython ProteinAnalysis.gravy()"),
    "aromaticity": ("fraction of F, W, Y", "Biopython ProteinAnalysis.aromaticity()"),
    "instability_index": ("instability index (Guruprasad)", "Biopython ProteinAnalysis.instability_index()"),
    "helix_fraction": ("fraction of helix formers", "Biopython ProteinAnalysis.secondary_structure_fraction()[0]"),
    "turn_fraction": ("fraction of turn formers", "Biopython ProteinAnalysis.secondary_structure_fraction()[1]"),
    "sheet_fraction": ("fraction of sheet formers", "Biopython ProteinAnalysis.secondary_structure_fraction()[2]"),
    "extinction_reduced": ("molar extinction coefficient, reduced cysteines",
                           "Biopython ProteinAnalysis.molar_extinction_coefficient()[0]"),
    "extinction_cystines": ("molar extinction coefficient, cystines",
                            "Biopython ProteinAnalysis.molar_extinction_coefficient()[1]"),
  ]
}

extension String {
  func trimmingBlanks() -> String {
    var s = Substring(self)
    while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
    while let c = s.last, c == " " || c == "\t" { s.removeLast() }
    return String(s)
  }
}
