/// Why a SMARTS string has no pattern: the 0-based byte position in the SMARTS where the problem
/// was found, and what it is.
public struct SmartsError: Error, Sendable, Equatable, CustomStringConvertible {
  public let position: Int
  public let message: String

  public init(position: Int, message: String) {
    self.position = position
    self.message = message
  }

  public var description: String { "SMARTS error at position \(position): \(message)" }
}

/// One primitive test of an atom or bond query, possibly negated.
struct SmartsLiteral: Sendable, Equatable {
  var kind: UInt8
  var negated: Bool
  var value: Int32
}

/// Atom primitive kinds (``SmartsLiteral/kind`` of atom queries).
enum AtomPrimitive {
  static let any: UInt8 = 0            // `*`
  static let aliphaticElement: UInt8 = 1  // `C`, `[Cl]`: element and not aromatic
  static let aromaticElement: UInt8 = 2   // `c`, `[se]`
  static let atomicNumber: UInt8 = 3      // `#n`, `[Si]`: element, either aromaticity
  static let aromatic: UInt8 = 4          // `a`
  static let aliphatic: UInt8 = 5         // `A`
  static let hydrogenCount: UInt8 = 6     // `Hn`: total H, H-atom neighbours included
  static let degree: UInt8 = 7            // `Dn`: graph neighbours
  static let totalDegree: UInt8 = 8       // `Xn`: neighbours + hydrogens
  static let valence: UInt8 = 9           // `vn`: total valence
  static let ringCount: UInt8 = 10        // `Rn` (value -1: `R`, in any ring)
  static let ringSize: UInt8 = 11         // `rn`: smallest ring size (value -1: `r`, in a ring)
  static let ringBondCount: UInt8 = 12    // `xn` (value -1: `x`, any ring bond)
  static let charge: UInt8 = 13           // `+n`, `-n`
  static let isotope: UInt8 = 14          // `13`
  static let recursive: UInt8 = 15        // `$(...)`: value = subpattern index
}

/// Bond primitive kinds (``SmartsLiteral/kind`` of bond queries).
enum BondPrimitive {
  static let any: UInt8 = 0               // `~`
  static let single: UInt8 = 1            // `-`
  static let double: UInt8 = 2            // `=`
  static let triple: UInt8 = 3            // `#`
  static let aromatic: UInt8 = 4          // `:`
  static let ring: UInt8 = 5              // `@`
  static let singleOrAromatic: UInt8 = 6  // no symbol (and `/`, `\`, as RDKit reads them)
}

/// Queries in conjunctive form, stored flat: a query is an AND (`;`) of groups, a group an OR
/// (`,`) of terms, a term an AND (`&` or adjacency) of literals. SMARTS atom and bond
/// expressions have no parentheses, so this three-level form holds every one of them.
struct SmartsQueryTable: Sendable {
  var literals: [SmartsLiteral] = []
  /// Term t holds literals[termEnd[t-1] ..< termEnd[t]] (0 for t = 0).
  var termEnd: [Int32] = []
  /// Group g holds terms[groupEnd[g-1] ..< groupEnd[g]].
  var groupEnd: [Int32] = []
  /// Query q holds groups[queryEnd[q-1] ..< queryEnd[q]].
  var queryEnd: [Int32] = []

  var count: Int { queryEnd.count }

  @inline(__always) func groups(_ q: Int) -> Range<Int> {
    (q == 0 ? 0 : Int(queryEnd[q - 1])) ..< Int(queryEnd[q])
  }
  @inline(__always) func terms(_ g: Int) -> Range<Int> {
    (g == 0 ? 0 : Int(groupEnd[g - 1])) ..< Int(groupEnd[g])
  }
  @inline(__always) func literalRange(_ t: Int) -> Range<Int> {
    (t == 0 ? 0 : Int(termEnd[t - 1])) ..< Int(termEnd[t])
  }

  /// A query of one literal.
  mutating func addSingle(_ literal: SmartsLiteral) -> Int {
    literals.append(literal)
    termEnd.append(Int32(literals.count))
    groupEnd.append(Int32(termEnd.count))
    queryEnd.append(Int32(groupEnd.count))
    return queryEnd.count - 1
  }
}

/// One connected-or-dotted SMARTS graph: the top-level pattern or the body of a `$(...)`.
/// Its atoms are numbered globally (``CompiledSmarts/atomQuery`` etc.) from `atomBase`.
struct SmartsSubpattern: Sendable {
  var atomBase: Int
  var atomCount: Int
  /// Bonds: local atom indices and bond query.
  var bondA: [Int32] = []
  var bondB: [Int32] = []
  var bondQuery: [Int32] = []
  /// Match plan: the local atom placed at each step (atom 0 first), the step of its already
  /// placed neighbour it is looked for from (-1: a component's first atom, looked for among all
  /// atoms) and the query of that bond; then the other bonds back to placed atoms.
  var order: [Int32] = []
  var parentStep: [Int32] = []
  var parentQuery: [Int32] = []
  var backStart: [Int32] = []  // atomCount + 1 entries
  var backStep: [Int32] = []
  var backQuery: [Int32] = []
}

/// A parsed SMARTS: the query tables, per-atom prefilters, and the subpatterns (index 0 = the
/// pattern itself, then every `$(...)` body at any depth).
struct CompiledSmarts: Sendable {
  var atomQueries = SmartsQueryTable()
  var bondQueries = SmartsQueryTable()
  /// Per global pattern atom: its query, the elements it can match (a 128-bit mask; elements
  /// beyond 127 always pass) and its bond count in the pattern (a lower bound on the degree).
  var atomQuery: [Int32] = []
  var elementMaskLow: [UInt64] = []
  var elementMaskHigh: [UInt64] = []
  var minDegree: [Int32] = []
  var subpatterns: [SmartsSubpattern] = []
  var totalAtoms: Int { atomQuery.count }
}
