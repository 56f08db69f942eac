#if canImport(Glibc)
import Glibc
#endif
import TagdataIO

/// What a measurement measures. The four affinities are in nanomolar; the others in the unit
/// their column names.
public enum MeasurementKind: String, Sendable, CaseIterable {
  case ki = "Ki"
  case ic50 = "IC50"
  case kd = "Kd"
  case ec50 = "EC50"
  /// Association rate constant, M⁻¹ s⁻¹.
  case kon
  /// Dissociation rate constant, s⁻¹.
  case koff
  case pH
  /// Temperature, °C.
  case temperature = "temp"

  /// Ki, IC50, Kd, EC50: concentrations in nM, which have a pX.
  public var isAffinity: Bool { self == .ki || self == .ic50 || self == .kd || self == .ec50 }

  /// The unit values of this kind are stated in.
  public var unit: String {
    switch self {
    case .ki, .ic50, .kd, .ec50: return "nM"
    case .kon: return "M-1 s-1"
    case .koff: return "s-1"
    case .pH: return ""
    case .temperature: return "C"
    }
  }
}

/// How a stated value relates to the true one: exact, or a bound (censored), or approximate.
public enum MeasurementRelation: String, Sendable, CaseIterable {
  case equal = "="
  case less = "<"
  case greater = ">"
  case lessOrEqual = "<="
  case greaterOrEqual = ">="
  case approximate = "~"

  /// A bound rather than a value.
  public var isCensored: Bool { self != .equal && self != .approximate }
}

/// One measured value of a row, as parsed from its cell.
public struct Measurement: Sendable, Equatable {
  public var kind: MeasurementKind
  public var relation: MeasurementRelation
  public var value: Double
  /// The cell as written (trimmed).
  public var text: String

  public init(kind: MeasurementKind, relation: MeasurementRelation, value: Double, text: String) {
    self.kind = kind
    self.relation = relation
    self.value = value
    self.text = text
  }

  /// pX = −log10(molar) = 9 − log10(nM) for the four affinities, exact (no floor); nil for a
  /// value ≤ 0 (no logarithm) and for the other kinds.
  public var pX: Double? {
    guard kind.isAffinity, value > 0, value.isFinite else { return nil }
    return 9 - log10(value)
  }

  /// TDC's `convert_to_log` of a value in nM: −log10(nM·1e-9 + 1e-10) (10 at 0).
  public static func tdcLog(_ nanomolar: Double) -> Double { -log10(nanomolar * 1e-9 + 1e-10) }
}

/// A cell that names a measurement but cannot be read as one: kept apart, with the reason, while
/// the rest of its row is used.
public struct BadMeasurement: Sendable, Equatable {
  public var kind: MeasurementKind
  public var text: String
  public var reason: String

  public init(kind: MeasurementKind, text: String, reason: String) {
    self.kind = kind
    self.text = text
    self.reason = reason
  }
}

/// One protein chain of a row's target.
public struct TargetChain: Sendable, Equatable {
  /// The residues as written (not yet canonical).
  public var sequence: [UInt8]
  /// UniProt accession: the Swiss-Prot primary id, else the TrEMBL one.
  public var accession: String?
  /// Secondary and alternative UniProt ids, as written (comma-separated lists split).
  public var otherAccessions: [String] = []
  /// UniProt entry name (Swiss-Prot, else TrEMBL).
  public var entryName: String?
  /// Swiss-Prot recommended name, else TrEMBL submitted name.
  public var name: String?
  /// PDB ids of the chain.
  public var pdbIDs: [String] = []

  public init(sequence: [UInt8]) { self.sequence = sequence }
}

/// One row of a BindingDB TSV: a ligand, a target of one or more chains, and what was measured,
/// with where it was published.
public struct BindingRecord: Sendable {
  public var location: RecordLocation
  /// `BindingDB Reactant_set_id`: the row's key in BindingDB.
  public var reactantSetID: Int64?
  /// The ligand as written (not yet canonical).
  public var ligandSMILES: [UInt8] = []
  public var ligandName: String?
  public var monomerID: Int64?
  public var pubchemCID: Int64?
  public var chemblID: String?
  public var inchiKey: String?
  /// Target name and source organism as the curator or data source gives them.
  public var targetName: String?
  public var organism: String?
  /// The row's chains: as many as "Number of Protein Chains in Target" says (its first N groups).
  public var chains: [TargetChain] = []
  public var measurements: [Measurement] = []
  public var badMeasurements: [BadMeasurement] = []
  // Provenance.
  public var curation: String?
  public var doi: String?
  public var pmid: Int64?
  public var patent: String?
  public var institution: String?
  public var pubchemAID: Int64?

  public init(location: RecordLocation) { self.location = location }
}

/// What a ``BindingDBReader`` hands out, row by row.
public enum BindingEvent: Sendable {
  case record(BindingRecord)
  case malformed(MalformedRecord)
}
