/// A byte-level tokenizer for text until the domain tokenizer exists: ids 0–3 are `<pad>`,
/// `<bos>`, `<eos>`, `<unk>`; byte b is id 4 + b.
public enum ByteTokenizer {
  public static let pad = 0, bos = 1, eos = 2, unknown = 3
  public static let vocabularySize = 260
  public static func encode(_ text: String) -> [Int] { text.utf8.map { Int($0) + 4 } }
  public static func decode(_ ids: [Int]) -> String {
    String(decoding: ids.filter { $0 >= 4 && $0 < 260 }.map { UInt8($0 - 4) }, as: UTF8.self)
  }
}
