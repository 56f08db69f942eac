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
  /// Records over `limits` are refused with ``SmilesError/Kind/tooLarge(_:)``.
  public static func read(_ smiles: String, limits: MoleculeLimits = .standard) throws(SmilesError) -> Molecule {
    try Sanitizer.sanitize(try SmilesParser.parseGraph(bytes: Array(smiles.utf8), limits: limits))
  }

  public static func read(bytes: [UInt8], limits: MoleculeLimits = .standard) throws(SmilesError) -> Molecule {
    try Sanitizer.sanitize(try SmilesParser.parseGraph(bytes: bytes, limits: limits))
  }

  /// Canonical SMILES of a SMILES string.
  public static func canonical(_ smiles: String, isomeric: Bool = true, kekule: Bool = false,
                               limits: MoleculeLimits = .standard) throws(SmilesError) -> String {
    SmilesWriter(isomeric: isomeric, kekule: kekule).write(try read(smiles, limits: limits))
  }
}
