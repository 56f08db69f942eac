/// A task's template read from its text: `<input>`/`<input N>` for the inputs, `<output>` for the
/// label or translation, `<SRC>`/`<TGT>` for the row's source and target language tags, and
/// `<Name>` for a declared tag. Anything else between `<` and `>` that looks like a tag name is an
/// error (a tag that does not exist); other text, `a < b` say, stays text.
public enum TaskTemplate {
  public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
  }

  /// The pieces of `template`; `kinds` gives each declared tag's kind. `tagList` (``tagList(_:)``
  /// of `kinds`, made once by a caller that parses many templates) names the tags in the message
  /// of an undeclared one.
  public static func parse(_ template: String, kinds: [String: TagLLM.TagKind], tagList: String? = nil) throws(ParseError)
    -> [TagLLM.Piece]
  {
    let b = Array(template.utf8)
    var pieces: [TagLLM.Piece] = []
    var text: [UInt8] = []
    func flush() {
      if !text.isEmpty { pieces.append(.text(String(decoding: text, as: UTF8.self))) }
      text.removeAll()
    }
    var i = 0
    while i < b.count {
      guard b[i] == UInt8(ascii: "<"), let close = b[(i + 1)...].prefix(66).firstIndex(of: UInt8(ascii: ">")),
        close > i + 1, b[(i + 1)..<close].allSatisfy(isNameByte)
      else {
        text.append(b[i])
        i += 1
        continue
      }
      let inner = String(decoding: b[(i + 1)..<close], as: UTF8.self)
      let piece: TagLLM.Piece
      if inner == "input" {
        piece = .input(0, placeholder: inner)
      } else if inner.hasPrefix("input "), let k = Int(inner.dropFirst(6)), k >= 0, k < 64 {
        piece = .input(k, placeholder: inner)
      } else if inner == "output" {
        piece = .output
      } else if inner == "SRC" {
        piece = .sourceLanguage
      } else if inner == "TGT" {
        piece = .targetLanguage
      } else if let kind = kinds[inner] {
        piece = kind == .domain ? .domain(inner) : .function(inner)
      } else {
        throw ParseError(message: "<\(inner)> is not a declared tag (tags: \(tagList ?? Self.tagList(kinds)); "
                           + "placeholders: <input>, <input N>, <output>, <SRC>, <TGT>)")
      }
      flush()
      pieces.append(piece)
      i = close + 1
    }
    flush()
    return pieces
  }

  /// The declared tags for a message: sorted, at most `limit` of them named (a configuration may
  /// declare thousands, and every bad template would repeat them all).
  public static func tagList(_ kinds: [String: TagLLM.TagKind], limit: Int = 20) -> String {
    let names = kinds.keys.sorted()
    if names.count <= limit { return names.joined(separator: ", ") }
    return names.prefix(limit).joined(separator: ", ") + ", ... (\(names.count) in all)"
  }

  static func isNameByte(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x20 || c == 0x5F
      || c == 0x2D || c == 0x2E || c == 0x2B
  }

  /// The template after the ablation: a dropped tag takes the space after it with it; with both
  /// tags off a regression template ends after the text before its function tag. Stage-1
  /// templates (which learn the domain tag itself) are never ablated.
  public static func ablate(_ t: [TagLLM.Piece], stage: Int, regression: Bool, _ ablation: TagLLM.Ablation) -> [TagLLM.Piece] {
    if stage == 1 || ablation == .both { return t }
    var out: [TagLLM.Piece] = []
    var k = 0
    while k < t.count {
      let p = t[k]
      let drop: Bool
      switch p {
      case .domain, .sourceLanguage, .targetLanguage: drop = !ablation.domain
      case .function:
        if ablation == .none && regression { return out }
        drop = !ablation.function
      default: drop = false
      }
      if drop {
        k += 1
        if k < t.count, case let .text(s) = t[k], s.hasPrefix(" ") {
          if s.count > 1 { out.append(.text(String(s.dropFirst()))) }
          k += 1
        }
        continue
      }
      out.append(p)
      k += 1
    }
    return out
  }

  /// Pieces made ready to fill for many examples: adjacent template texts joined and tag names
  /// written out once. Filling them then gives every example the same template strings (no
  /// string made per example, and found again by address downstream).
  public struct Prepared: Sendable {
    enum Part: Sendable {
      case text(String)
      case tag(String)
      case sourceLanguage
      case targetLanguage
      case input(Int)
      case output
    }
    let parts: [Part]

    public init(_ pieces: [TagLLM.Piece]) {
      var parts: [Part] = []
      for p in pieces {
        switch p {
        case let .text(t):
          if case let .text(last)? = parts.last { parts[parts.count - 1] = .text(last + t) } else { parts.append(.text(t)) }
        case let .domain(n), let .function(n): parts.append(.tag("<\(n)>"))
        case .sourceLanguage: parts.append(.sourceLanguage)
        case .targetLanguage: parts.append(.targetLanguage)
        case let .input(k, _): parts.append(.input(k))
        case .output: parts.append(.output)
        }
      }
      self.parts = parts
    }
  }

  /// Fills prepared pieces: `inputs` by index (their segment kinds in `inputKinds`), the output
  /// (nil: none), the languages of `<SRC>` and `<TGT>`. Template text joins the template text
  /// before it; inputs and outputs stay segments of their own.
  public static func fill(_ prepared: Prepared, inputs: [String], inputKinds: [TagLLM.Segment.Kind], output: String?,
                          outputKind: TagLLM.Segment.Kind = .label, source: String = "", target: String = "")
    -> [TagLLM.Segment]
  {
    var segs: [TagLLM.Segment] = []
    segs.reserveCapacity(prepared.parts.count)
    var lastFilled = 0
    func add(_ k: TagLLM.Segment.Kind, _ t: String, template: Bool = false) {
      if template, let last = segs.last, last.kind == .text, segs.count > lastFilled {
        segs[segs.count - 1].text += t
      } else {
        segs.append(TagLLM.Segment(k, t))
      }
    }
    for p in prepared.parts {
      switch p {
      case let .text(t): add(.text, t, template: true)
      case let .tag(t): add(.tag, t)
      case .sourceLanguage: add(.tag, "<\(source)>")
      case .targetLanguage: add(.tag, "<\(target)>")
      case let .input(k):
        add(inputKinds[k], inputs[k])
        lastFilled = segs.count
      case .output:
        if let output {
          add(outputKind, output)
          lastFilled = segs.count
        }
      }
    }
    return segs
  }

  /// Fills pieces: `inputs` by index (their segment kinds in `inputKinds`), the output (nil:
  /// none), the languages of `<SRC>` and `<TGT>`. Template text joins the template text before
  /// it; inputs and outputs stay segments of their own.
  public static func fill(_ pieces: [TagLLM.Piece], inputs: [String], inputKinds: [TagLLM.Segment.Kind], output: String?,
                          outputKind: TagLLM.Segment.Kind = .label, source: String = "", target: String = "")
    -> [TagLLM.Segment]
  {
    fill(Prepared(pieces), inputs: inputs, inputKinds: inputKinds, output: output, outputKind: outputKind, source: source,
         target: target)
  }

  /// The template as text again (placeholders and tag names), as FORMATS 7.2 writes templates.
  public static func string(_ pieces: [TagLLM.Piece], source: String = "SRC", target: String = "TGT") -> String {
    var s = ""
    for p in pieces {
      switch p {
      case let .text(t): s += t
      case let .domain(n), let .function(n): s += "<\(n)>"
      case .sourceLanguage: s += "<\(source)>"
      case .targetLanguage: s += "<\(target)>"
      case let .input(_, placeholder): s += "<\(placeholder)>"
      case .output: s += "<output>"
      }
    }
    return s
  }
}
