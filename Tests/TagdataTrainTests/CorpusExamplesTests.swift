import Foundation
import TagdataShards
import TagdataTasks
import TagdataTokenizer
import TestSupport
import Testing

/// The built-in datasets the CLI hands the trainer: made from the shipped UniProt flat files,
/// with the tags they are given and the byte tokenizer.
@Suite struct CorpusExamplesTests {
  @Test func hydrophobicityExamplesEndWithTheFunctionTagAndCarryTheFraction() throws {
    let corpora = TestSupport.root.appendingPathComponent("Corpora").path
    let records = try CorpusExamples.proteins(corpora: corpora)
    let tags = ["Protein": [260, 261], "Hydrophobic": [262]]
    let data = try CorpusExamples.build("protein-hydrophobicity", corpora: corpora, tags: tags, vocabularySize: 260, length: 64)
    #expect(data.examples.count == records.count && records.count > 0)
    #expect(data.manifest.tags == tags && data.manifest.vocabularySize == ByteTokenizer.vocabularySize)
    for e in data.examples {
      #expect(e.tokens.first == ByteTokenizer.bos && Array(e.tokens[1...2]) == [260, 261] && e.tokens.last == 262)
      #expect(e.tokens.count <= 64)
      #expect(e.regression.count == 1 && e.regression[0].position == e.tokens.count - 1)
      #expect(e.regression[0].target >= 0 && e.regression[0].target <= 1)
    }
  }

  @Test func aMissingTagIsNamed() {
    let corpora = TestSupport.root.appendingPathComponent("Corpora").path
    #expect(throws: (any Error).self) {
      try CorpusExamples.build("protein-sequences", corpora: corpora, tags: [:], vocabularySize: 260, length: 64)
    }
  }
}
