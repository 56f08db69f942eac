/// What a molecule is grouped by when data is split without leakage: its parent (the molecule
/// without salt, charge, stereo or isotopes) and its Bemis-Murcko scaffold.
///
/// The catalog stores both per molecule, with ``version``: a build reads them instead of working
/// them out again, and works out those of molecules stored without them or under another version.
public enum MoleculeGroups {
  /// The definition's version: change it with any change to what ``keys(smiles:)`` gives.
  public static let version = "1"

  /// The parent and scaffold of a canonical SMILES. A SMILES that cannot be read is its own
  /// parent and has no scaffold ("").
  ///
  /// - The scaffold has no stereo or isotopes (as chemprop's scaffold split, includeChirality
  ///   false): the stereoisomers of a molecule share a scaffold group.
  /// - The parent is the canonical SMILES, without stereo or isotopes, of the largest component
  ///   (most heavy atoms; ties: the longer, then the smaller SMILES) after neutralising it (an O, S
  ///   or N anion not next to a cation takes an H back, an N cation with an H gives it up). A salt
  ///   form, a charged form, a stereoisomer and the molecule itself thus share a group.
  public static func keys(smiles: String) -> (parent: String, scaffold: String) {
    var e = (parent: smiles, scaffold: "")
    guard var mol = try? Smiles.read(smiles) else { return e }
    let scaffold = Scaffold.murckoSmiles(mol)
    e.scaffold = scaffold
    if scaffold.utf8.contains(where: { $0 == 0x40 || $0 == 0x2F || $0 == 0x5C || $0 == 0x5B }),
      let flat = try? Smiles.canonical(scaffold, isomeric: false)
    {
      e.scaffold = flat
    }
    // A canonical SMILES with no bracket atom, component, stereo or isotope is its own parent.
    if smiles.utf8.contains(where: { $0 == 0x5B || $0 == 0x2E || $0 == 0x40 || $0 == 0x2F || $0 == 0x5C }) {
      e.parent = parent(of: &mol)
    }
    return e
  }

  /// The parent of `mol` (see ``keys(smiles:)``); `mol` is neutralised in place. `alwaysTwice`:
  /// canonicalize the written SMILES again even when once is known to be enough (tests check that
  /// it is).
  public static func parent(of mol: inout Molecule, alwaysTwice: Bool = false) -> String {
    var neutralized = false
    for i in mol.atoms.indices where mol.atoms[i].charge != 0 {
      let a = mol.atoms[i]
      let near = mol.neighbors(i).map { mol.atoms[$0].charge }
      if a.charge == -1 && [7, 8, 16].contains(a.element) && !near.contains(where: { $0 > 0 }) {
        mol.atoms[i].charge = 0
        mol.atoms[i].hydrogens += 1
        neutralized = true
      } else if a.charge == 1 && a.element == 7 && a.hydrogens > 0 && !near.contains(where: { $0 < 0 }) {
        mol.atoms[i].charge = 0
        mol.atoms[i].hydrogens -= 1
        neutralized = true
      }
    }
    let written = SmilesWriter(isomeric: false).write(mol)
    // Written without stereo or isotopes, the SMILES is canonical as it is, unless an atom was
    // neutralized (its ring may read back otherwise) or dropping an isotope or a hydrogen atom
    // makes another graph: then it is read and written once more.
    let again = alwaysTwice || neutralized || mol.atoms.contains { $0.element == 1 || $0.isotope != 0 }
    let flat = again ? (try? Smiles.canonical(written, isomeric: false)) ?? written : written
    let parts = flat.split(separator: ".")
    guard parts.count > 1 else { return flat }
    var best: (heavy: Int, text: Substring)?
    for part in parts {
      guard let m = try? Smiles.read(String(part)) else { continue }
      let heavy = m.atoms.reduce(0) { $0 + ($1.element != 1 ? 1 : 0) }
      if let b = best,
        (b.heavy, b.text.count) > (heavy, part.count) || ((b.heavy, b.text.count) == (heavy, part.count) && b.text <= part)
      {
        continue
      }
      best = (heavy, part)
    }
    return best.map { String($0.text) } ?? flat
  }
}
