extension Molecule {
  /// A copy with every hydrogen of the atoms' H counts made a graph atom (element 1, bonded by a
  /// single bond to its atom; RDKit's `AddHs`). The new atoms and bonds come after the existing
  /// ones, so atom and bond indices, rings and aromatic flags of the heavy atoms stay valid; the
  /// heavy atoms' `hydrogens` become 0 (an implicit-H place in a
  /// chirality order becomes the atom's first new H). H atoms already in the graph are kept as they are.
  public func addingExplicitHydrogens() -> Molecule {
    var total = 0
    for a in atoms { total += a.hydrogens }
    if total == 0 { return self }
    var out = self
    out.atoms.reserveCapacity(atoms.count + total)
    out.adjacency.reserveCapacity(atoms.count + total)
    out.bonds.reserveCapacity(bonds.count + total)
    for i in atoms.indices {
      let count = atoms[i].hydrogens
      guard count > 0 else { continue }
      out.atoms[i].hydrogens = 0
      // The implicit-H slot of a chirality order becomes the first new H atom.
      if let k = out.atoms[i].stereoOrder.firstIndex(of: -1) { out.atoms[i].stereoOrder[k] = out.atoms.count }
      for _ in 0..<count {
        let h = out.atoms.count
        out.atoms.append(Atom(element: 1))
        out.adjacency.append([out.bonds.count])
        out.adjacency[i].append(out.bonds.count)
        out.bonds.append(Bond(a: i, b: h, order: .single))
      }
    }
    return out
  }
}
