/// A parsed SMARTS pattern (the subset of CHEMISTRY.md §10.1, read as RDKit reads it), matched
/// against molecules as RDKit's substructure search does.
///
/// Atoms: organic subset outside brackets (`C`, `c`, `Cl`, ...), `*`, `a`, `A`; in brackets any
/// element symbol (upper case B C N O F P S Cl Br I mean the aliphatic atom, other upper-case
/// symbols the element whatever its aromaticity; `c n o p s b se as te si` aromatic), `#n`,
/// `Hn` (total H, H-atom neighbours included; `H` = `H1`), `Dn`, `dn` (neighbours other than
/// plain H), `zn`/`Zn` (neighbours other than C and H / the aliphatic ones), `Xn`, `vn`, `R`/`Rn`, `r`/`rn` (smallest ring), `x`/`xn`, charges `+ ++ +n - -- -n`,
/// a mass (`[13C]`; a mass binds to the symbol after it: `[!13C]` is "not carbon-13"), atom maps
/// `:n` (ignored), chirality marks (ignored, as RDKit's matching does by default; negated they
/// match nothing, as in RDKit), recursive `$(...)` (at most ``SmartsParser/maxNesting`` deep).
/// Logic `!` `&` (or adjacency) `,` `;`, tightest first. `[H]`, `[2H]`, `[H+]`, `[2H-:1]` are
/// hydrogen atoms; `H` after anything else is a hydrogen count (RDKit's convention).
/// Bonds: `-` `=` `#` `$` `:` `~` `@`, `/` `\` (single or aromatic), with `!` `&` `,` `;`; none
/// written = single or aromatic. Branches, ring closures (`1`, `%12`, `%(123)`; a bond written at
/// both ends: the opening one counts, as in RDKit), `.` components.
/// Refused with a ``SmartsError`` naming the position: RDKit extensions outside this subset (`h`,
/// whose implicit/explicit split the molecule model does not keep; `^n`, ...), the empty pattern,
/// and malformed syntax.
///
///     let acid = try SmartsPattern("C(=O)[OH]")
///     let target = SmartsTarget(try Smiles.read("CC(=O)O"))
///     acid.countUniqueMatches(in: target)   // 1
///
/// Parse once, match many times; build one ``SmartsTarget`` per molecule and reuse it for every
/// pattern. Every search is bounded by ``stepLimit`` candidate tests (a pathological pattern on a
/// large cage molecule stops there; ``matchResult(in:unique:maxMatches:)`` says whether it did).
public struct SmartsPattern: Sendable {
  public let smarts: String
  let program: SmartsProgram
  let topAtomCount: Int

  /// Candidate tests allowed per search (recursive `$(...)` searches included).
  public static let stepLimit = 20_000_000

  public init(_ smarts: String) throws(SmartsError) {
    self.smarts = smarts
    let compiled = try SmartsParser.parse(smarts)
    program = SmartsProgram(compiled)
    topAtomCount = compiled.subpatterns[0].atomCount
  }

  /// Number of atoms of the pattern (recursive bodies not counted).
  public var atomCount: Int { topAtomCount }

  /// The result of a search: the matches, and whether the search ran to the end (false when the
  /// step budget cut it; `maxMatches` reached counts as complete).
  public struct MatchResult: Sendable {
    public var matches: [[Int]]
    public var complete: Bool
  }

  func runMatcher(_ target: SmartsTarget, _ mode: SmartsMatcher.Mode, unique: Bool, maxMatches: Int,
                  stepLimit: Int = SmartsPattern.stepLimit) -> SmartsMatcher {
    var m = SmartsMatcher(program, target, mode: mode, unique: unique, maxMatches: maxMatches, stepLimit: stepLimit)
    m.run()
    return m
  }

  /// Each match maps pattern atom i -> molecule atom index. unique: drop a match whose set of
  /// molecule atoms equals an earlier one's (RDKit's default). At most `maxMatches` matches
  /// (counted after that dropping, as RDKit counts them).
  public func matches(in target: SmartsTarget, unique: Bool = true, maxMatches: Int = 1_000_000) -> [[Int]] {
    runMatcher(target, .collect, unique: unique, maxMatches: maxMatches).results
  }

  /// ``matches(in:unique:maxMatches:)`` with whether the search was complete.
  public func matchResult(in target: SmartsTarget, unique: Bool = true, maxMatches: Int = 1_000_000) -> MatchResult {
    matchResult(in: target, unique: unique, maxMatches: maxMatches, stepLimit: Self.stepLimit)
  }

  func matchResult(in target: SmartsTarget, unique: Bool, maxMatches: Int, stepLimit: Int) -> MatchResult {
    let m = runMatcher(target, .collect, unique: unique, maxMatches: maxMatches, stepLimit: stepLimit)
    return MatchResult(matches: m.results, complete: !m.truncated)
  }

  /// Whether some match puts pattern atom 0 on molecule atom `atom` (as `[$(pattern)]` asks):
  /// an anchored search that stops at the first match. For atom typing (Crippen: the first
  /// pattern atom gets the type), cheaper than enumerating every match.
  public func matches(atom: Int, in target: SmartsTarget) -> Bool {
    guard atom >= 0 && atom < target.atomCount else { return false }
    var m = SmartsMatcher(program, target, mode: .first, unique: false, maxMatches: 1, stepLimit: Self.stepLimit)
    return m.runAnchored(atom)
  }

  /// The molecule atoms on which some match puts pattern atom 0, ascending, in one run (query
  /// results shared between the anchored searches); atoms whose `skip` entry is true are not
  /// tried. Crippen typing: `skip` = the atoms typed already.
  public func firstAtomMatches(in target: SmartsTarget, skip: [Bool]? = nil) -> [Int] {
    var m = SmartsMatcher(program, target, mode: .first, unique: false, maxMatches: 1, stepLimit: Self.stepLimit)
    return m.anchoredAtoms(skip: skip)
  }

  public func firstMatch(in target: SmartsTarget) -> [Int]? {
    runMatcher(target, .first, unique: false, maxMatches: 1).results.first
  }

  public func hasMatch(in target: SmartsTarget) -> Bool {
    runMatcher(target, .first, unique: false, maxMatches: 1).found > 0
  }

  /// Number of unique matches (RDKit's `len(mol.GetSubstructMatches(pattern, maxMatches=...))`).
  public func countUniqueMatches(in target: SmartsTarget, maxMatches: Int = 1_000_000) -> Int {
    runMatcher(target, .count, unique: true, maxMatches: maxMatches).found
  }

  public func countUniqueMatches(in target: SmartsTarget) -> Int {
    countUniqueMatches(in: target, maxMatches: 1_000_000)
  }

  // Conveniences taking a molecule (each builds a target: prefer a target for many patterns).

  public func matches(in molecule: Molecule, unique: Bool = true, maxMatches: Int = 1_000_000) -> [[Int]] {
    matches(in: SmartsTarget(molecule), unique: unique, maxMatches: maxMatches)
  }

  public func firstMatch(in molecule: Molecule) -> [Int]? { firstMatch(in: SmartsTarget(molecule)) }

  public func hasMatch(in molecule: Molecule) -> Bool { hasMatch(in: SmartsTarget(molecule)) }

  public func countUniqueMatches(in molecule: Molecule) -> Int { countUniqueMatches(in: SmartsTarget(molecule)) }
}
