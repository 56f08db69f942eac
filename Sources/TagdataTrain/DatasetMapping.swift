import TagdataShards

/// A version-2 token dataset's ids mapped to a model's: text ids unchanged, each tag's ids to
/// the model's rows of the tag of that name, the domain ranges (SMILES tokens, residues) to the
/// vocabulary rows the model grew after the text ones. The trainer and the evaluator read
/// datasets through it.
public enum DatasetMapping {
  public struct MappingError: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  public static func map(_ examples: [TokenDataset.Example], vocabulary v: TokenShards.VocabularyInfo, model: Model) throws
    -> [TokenDataset.Example]
  {
    var map = [Int](repeating: -1, count: v.size)
    for i in 0..<min(v.textSize, v.size) { map[i] = i }
    var missing: [Int: String] = [:]
    for t in v.tagList {
      let rows = model.tagTokens(t.name)
      if !rows.isEmpty && rows.count != t.tokens {
        throw MappingError(description: "tag \(t.name) has \(t.tokens) tokens in the dataset but \(rows.count) rows in the model")
      }
      for k in 0..<t.tokens where t.firstID + k < v.size {
        if rows.count == t.tokens { map[t.firstID + k] = rows[k] } else { missing[t.firstID + k] = t.name }
      }
    }
    var next = v.textSize
    for range in [v.smiles, v.residues].compactMap({ $0 }) {
      for k in 0..<range.tokens.count where range.firstID + k < v.size { map[range.firstID + k] = next + k }
      next += range.tokens.count
    }
    if next > model.config.vocabularySize {
      throw MappingError(description: "the dataset's text and domain tokens need a vocabulary of \(next), the model has "
                           + "\(model.config.vocabularySize) (grow it with `vocabularySize` in a domain stage)")
    }
    var out = examples
    for n in out.indices {
      for (k, id) in out[n].tokens.enumerated() {
        guard id >= 0 && id < map.count else {
          throw MappingError(description: "example \(n + 1) (\(out[n].task)) has token id \(id), outside the dataset's vocabulary of \(map.count)")
        }
        let m = map[id]
        guard m >= 0 else {
          throw MappingError(description: "example \(n + 1) (\(out[n].task)) uses the tag \(missing[id] ?? "?"), which the model does not "
                               + "have (declare it in `tags` of this stage or an earlier one)")
        }
        out[n].tokens[k] = m
      }
    }
    return out
  }
}
