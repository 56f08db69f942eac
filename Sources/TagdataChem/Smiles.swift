/// The front door: SMILES in, checked molecule or canonical SMILES out.
///
///     let canonical = try Smiles.canonical("OCC")   // "CCO"
///
/// Reading = parse (``SmilesParser``) then sanitize (``Sanitizer``): implicit hydrogens,
/// valence check, kekulization of aromatic input, aromaticity perception in RDKit's model,
/// stereo perception. Writing = canonical ranking then a canonical depth-first walk
/// (``SmilesWriter``).
public enum Smiles {
  /// Parses and sanitizes a SMILES string.
  public static func read(_ smiles: String) throws(SmilesError) -> Molecule {
    try Sanitizer.sanitize(try SmilesParser.parseGraph(smiles))
  }

  public static func read(bytes: [UInt8]) throws(SmilesError) -> Molecule {
    try Sanitizer.sanitize(try SmilesParser.parseGraph(bytes: bytes))
  }

  /// Canonical SMILES of a SMILES string.
  public static func canonical(_ smiles: String, isomeric: Bool = true, kekule: Bool = false) throws(SmilesError) -> String {
    SmilesWriter(isomeric: isomeric, kekule: kekule).write(try read(smiles))
  }
}
