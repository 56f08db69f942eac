/// Why a SMILES string has no molecule. Syntax errors carry the 1-based column where the
/// problem was found; chemistry errors (valence, kekulization) name 0-based atom indices, as
/// RDKit's messages do.
public struct SmilesError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: Equatable, Sendable {
    case empty
    case syntax(String)
    case unknownElement(String)
    case unclosedRing([Int])
    case unmatchedOpenParenthesis
    case unmatchedCloseParenthesis
    case ringBondToSelf(ring: Int)
    case duplicateBond(ring: Int)
    case badCharge
    /// An atom's bonds and hydrogens exceed every valence its element allows.
    case valence(atom: Int, symbol: String, valence: Int)
    /// Aromatic atoms that cannot be given a Kekulé structure.
    case kekulize(atoms: [Int])
    case aromaticOutsideRing(atom: Int)
    /// The record exceeds a ``MoleculeLimits`` limit (atoms or bytes).
    case tooLarge(MoleculeLimits.Exceeded)
  }

  public var kind: Kind
  /// 1-based column in the input; 0 for errors found after parsing.
  public var column: Int

  /// The limit exceeded, when that is why the record was refused.
  public var exceeded: MoleculeLimits.Exceeded? {
    if case let .tooLarge(e) = kind { return e }
    return nil
  }

  public init(_ kind: Kind, column: Int = 0) {
    self.kind = kind
    self.column = column
  }

  public var description: String {
    let at = column > 0 ? " at column \(column)" : ""
    switch kind {
    case .empty: return "empty SMILES"
    case let .syntax(what): return "syntax error\(at): \(what)"
    case let .unknownElement(s): return "unknown element '\(s)'\(at)"
    case let .unclosedRing(rings): return "unclosed ring \(rings.map(String.init).joined(separator: ", "))"
    case .unmatchedOpenParenthesis: return "unmatched '('\(at)"
    case .unmatchedCloseParenthesis: return "unmatched ')'\(at)"
    case let .ringBondToSelf(r): return "ring closure \(r) bonds an atom to itself\(at)"
    case let .duplicateBond(r): return "ring closure \(r) duplicates an existing bond\(at)"
    case .badCharge: return "bad charge\(at)"
    case let .valence(atom, symbol, v):
      return "explicit valence \(v) of atom \(atom) (\(symbol)) is greater than permitted"
    case let .kekulize(atoms): return "cannot kekulize: aromatic atoms \(atoms.map(String.init).joined(separator: " ")) have no Kekulé structure"
    case let .aromaticOutsideRing(atom): return "atom \(atom) is marked aromatic but is not in a ring"
    case let .tooLarge(exceeded): return exceeded.description
    }
  }
}
