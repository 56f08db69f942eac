import TagdataBio
import TagdataChem

/// Computes chosen molecule descriptors, one molecule at a time, sharing the work several of them
/// need. A SMILES that cannot be read gives every descriptor no value, with the reading error as
/// the reason.
public struct MoleculeLabeler: Sendable {
  public let descriptors: [DescriptorInfo]
  private let calculator: DescriptorCalculator
  /// Where each asked-for descriptor comes from: an index into the calculator's values, or a
  /// scaffold form.
  private enum Source: Sendable { case calculator(Int), scaffold, genericScaffold }
  private let sources: [Source]

  /// `descriptors` must be molecule descriptors (``DescriptorRegistry/molecule``).
  public init(_ descriptors: [DescriptorInfo]) {
    precondition(descriptors.allSatisfy { $0.kind == .molecule }, "molecule descriptors only")
    self.descriptors = descriptors
    var computed: [MoleculeDescriptor] = []
    var sources: [Source] = []
    for d in descriptors {
      if let m = MoleculeDescriptor(rawValue: d.name) {
        sources.append(.calculator(computed.count))
        computed.append(m)
      } else {
        sources.append(d.name == "scaffold" ? .scaffold : .genericScaffold)
      }
    }
    calculator = DescriptorCalculator(computed)
    self.sources = sources
  }

  public func label(smiles: [UInt8], limits: MoleculeLimits = .standard) -> [LabelValue] {
    do {
      return label(try Smiles.read(bytes: smiles, limits: limits))
    } catch {
      return [LabelValue](repeating: .missing(reason: "SMILES not read: \(error)"), count: descriptors.count)
    }
  }

  public func label(_ mol: Molecule) -> [LabelValue] {
    let values = calculator.descriptors.isEmpty ? [] : calculator.compute(mol)
    return sources.map { source in
      switch source {
      case let .calculator(k):
        switch values[k] {
        case let .number(x): return x.isFinite ? .number(x) : .missing(reason: "not a finite number")
        case let .count(n): return .number(Double(n))
        case let .text(t): return .text(t)
        }
      case .scaffold: return .text(Scaffold.murckoSmiles(mol))
      case .genericScaffold: return .text(Scaffold.genericMurckoSmiles(mol))
      }
    }
  }
}

/// Computes chosen protein descriptors of a sequence given as its residue letters. A descriptor
/// that is not defined for the sequence (an ambiguity code where the value depends on it, an
/// empty sequence) has no value, with the reason; the others are still computed.
public struct ProteinLabeler: Sendable {
  public let descriptors: [DescriptorInfo]
  private let biopython: [ProteinDescriptor]
  /// Per asked-for descriptor: index into the Biopython values, or (negative) -1 - index into
  /// peptides' values.
  private let sources: [Int]
  private let needsPeptides: Bool

  /// `descriptors` must be protein descriptors (``DescriptorRegistry/protein``).
  public init(_ descriptors: [DescriptorInfo]) {
    precondition(descriptors.allSatisfy { $0.kind == .protein }, "protein descriptors only")
    self.descriptors = descriptors
    var biopython: [ProteinDescriptor] = []
    var sources: [Int] = []
    let peptideIndex = Dictionary(uniqueKeysWithValues: ProteinAnalysis.peptideDescriptorNames.enumerated().map { ($1, $0) })
    for d in descriptors {
      if let p = ProteinDescriptor(rawValue: d.name) {
        sources.append(biopython.count)
        biopython.append(p)
      } else {
        sources.append(-1 - peptideIndex[d.name]!)
      }
    }
    self.biopython = biopython
    self.sources = sources
    needsPeptides = sources.contains { $0 < 0 }
  }

  public func label(sequence: [UInt8]) -> [LabelValue] {
    sequence.withUnsafeBufferPointer { label(sequence: $0) }
  }

  public func label(sequence: UnsafeBufferPointer<UInt8>) -> [LabelValue] {
    // Biopython's values all at once; when the sequence is refused for one of them, each on its
    // own, so that only the undefined ones go without a value.
    var bio: [LabelValue] = []
    if !biopython.isEmpty {
      do {
        bio = try ProteinAnalysis.descriptors(biopython, of: sequence).map { .number($0) }
      } catch {
        bio = biopython.map { d in
          do {
            return .number(try ProteinAnalysis.descriptors([d], of: sequence)[0])
          } catch {
            return .missing(reason: "\(error)")
          }
        }
      }
    }
    var peptides: [Double] = []
    var peptideFailure: String?
    if needsPeptides {
      do {
        try ProteinAnalysis.peptideDescriptors(of: sequence, into: &peptides)
      } catch {
        peptideFailure = "\(error)"
      }
    }
    return sources.map { k in
      if k >= 0 { return bio[k] }
      if let peptideFailure { return .missing(reason: peptideFailure) }
      return .number(peptides[-1 - k])
    }
  }
}
