/// Per-record limits that the readers (SMILES, molfile V2000 and V3000) check before building a
/// molecule, so one giant record is refused with a reason (and can be quarantined) instead of
/// taking the memory and time of the whole run.
///
///     let limits = MoleculeLimits(maxAtoms: 50_000)
///     do { _ = try Smiles.read(text, limits: limits) }
///     catch { print(error) }   // "too large: 120000 atoms, more than maxAtoms = 50000"
///
/// The error is ``SmilesError`` with kind ``SmilesError/Kind/tooLarge(_:)`` from SMILES, and
/// ``MolfileError`` with ``MolfileError/exceeded`` set from molfiles; both carry the limit
/// exceeded, its value and the record's count.
public struct MoleculeLimits: Sendable, Equatable {
  /// Atoms in one record (hydrogen atoms written as atoms count).
  public var maxAtoms: Int
  /// Bytes of one record's structure text (the SMILES, or the whole molfile block).
  public var maxBytes: Int

  public init(maxAtoms: Int = 1_000_000, maxBytes: Int = 256 << 20) {
    self.maxAtoms = maxAtoms
    self.maxBytes = maxBytes
  }

  /// 1,000,000 atoms, 256 MiB.
  public static let standard = MoleculeLimits()

  /// Which limit a record exceeded, the limit's value and the record's count.
  public struct Exceeded: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Limit: String, Sendable { case maxAtoms, maxBytes }
    public var limit: Limit
    public var maximum: Int
    public var count: Int
    public var description: String {
      "too large: \(count) \(limit == .maxAtoms ? "atoms" : "bytes"), more than \(limit.rawValue) = \(maximum)"
    }
  }

  func checkBytes(_ count: Int) -> Exceeded? {
    count > maxBytes ? Exceeded(limit: .maxBytes, maximum: maxBytes, count: count) : nil
  }

  func checkAtoms(_ count: Int) -> Exceeded? {
    count > maxAtoms ? Exceeded(limit: .maxAtoms, maximum: maxAtoms, count: count) : nil
  }
}
