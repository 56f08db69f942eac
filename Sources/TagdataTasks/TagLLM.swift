/// Tag-LLM's data formulation (FORMATS.md section 7): its tags, its prompt templates as data, the
/// ablation switches and its label strings.
public enum TagLLM {
  /// What a tag marks: a domain (what the input is) or a function (what to predict).
  public enum TagKind: String, Sendable, Codable {
    case domain
    case function
  }

  /// A tag: its name as it appears in a formulation (`<QED>`), its kind and its stage.
  public struct Tag: Sendable, Equatable {
    public var name: String
    public var kind: TagKind
    public var stage: Int
    /// Virtual tokens (p).
    public var tokens: Int
    public init(name: String, kind: TagKind, stage: Int, tokens: Int = TagLLM.tokensPerTag) {
      self.name = name
      self.kind = kind
      self.stage = stage
      self.tokens = tokens
    }
    /// The tag as written in a formulation.
    public var text: String { "<\(name)>" }
  }

  /// Virtual tokens per tag (`num_token_per_tag` of every Tag-LLM task config).
  public static let tokensPerTag = 10

  /// Tag-LLM's language tags (opus100 pairs), in the order of its language config.
  public static let languages = ["EN", "FR", "RU", "DE", "IT", "EL", "ES", "PT"]

  /// The tags of the Tag-LLM preset in allocation order: the languages (plus `extraLanguages`,
  /// upper-cased, sorted, after Tag-LLM's eight), Protein, SMILES, then the function tags.
  public static func registry(extraLanguages: [String] = []) -> [Tag] {
    var tags = languages.map { Tag(name: $0, kind: .domain, stage: 1) }
    for l in Set(extraLanguages.map { $0.uppercased() }).subtracting(languages).sorted() {
      tags.append(Tag(name: l, kind: .domain, stage: 1))
    }
    tags.append(Tag(name: "Protein", kind: .domain, stage: 1))
    tags.append(Tag(name: "SMILES", kind: .domain, stage: 1))
    for (n, s) in [("Descriptor", 2), ("QED", 2), ("BA", 3), ("DC", 3), ("Translate", 3)] {
      tags.append(Tag(name: n, kind: .function, stage: s))
    }
    return tags
  }

  /// The virtual-token string of each tag (FORMATS 7.4): its p concatenated `<TAG n>` tokens, n
  /// continuing after every earlier tag of `tags`.
  public static func expansions(_ tags: [Tag]) -> [String: String] {
    var out: [String: String] = [:]
    var n = 0
    for t in tags {
      var s = ""
      for _ in 0..<t.tokens {
        s += "<TAG \(n)>"
        n += 1
      }
      out[t.name] = s
    }
    return out
  }

  /// A filled formulation with every tag replaced by its virtual tokens (what Tag-LLM's collator
  /// tokenizes); a tag without an expansion stays as it is.
  public static func expand(_ segments: [Segment], _ expansions: [String: String]) -> String {
    var s = ""
    for seg in segments {
      if seg.kind == .tag, seg.text.hasPrefix("<"), seg.text.hasSuffix(">"),
         let x = expansions[String(seg.text.dropFirst().dropLast())]
      {
        s += x
      } else {
        s += seg.text
      }
    }
    return s
  }

  /// Which tags a formulation keeps (`use_domain_tag`, `use_function_tag`).
  public enum Ablation: String, Sendable, CaseIterable {
    /// Both tags (Tag-LLM's default).
    case both
    case noDomain = "no-domain"
    case noFunction = "no-function"
    /// Neither: a regression template is cut after its last "is " (no output).
    case none

    public var domain: Bool { self == .both || self == .noFunction }
    public var function: Bool { self == .both || self == .noDomain }
  }

  /// One piece of a template.
  public enum Piece: Sendable, Equatable {
    case text(String)
    /// A domain tag; `nil` name: the source or target language of a translation (`<SRC>`/`<TGT>`).
    case domain(String)
    case sourceLanguage
    case targetLanguage
    case function(String)
    /// An input, with its placeholder name (`input`, `input 0`, ...).
    case input(Int, placeholder: String)
    case output
  }

  public enum Task: String, Sendable, CaseIterable {
    case language = "Language"
    case protein = "Protein"
    case smiles = "SMILES"
    case descriptor = "Descriptor"
    case qed = "QED"
    case ba = "BA"
    case dc = "DC"
    case translate = "Translate"

    public var stage: Int {
      switch self {
      case .language, .protein, .smiles: return 1
      case .descriptor, .qed: return 2
      case .ba, .dc, .translate: return 3
      }
    }

    /// Regression tasks predict a number from the function tag's hidden state; the others generate.
    public var regression: Bool {
      switch self {
      case .descriptor, .qed, .ba, .dc: return true
      default: return false
      }
    }

    /// The template of FORMATS 7.2 as pieces; `.domain("")` stands for the language tag of a
    /// Language example.
    public var template: [Piece] {
      switch self {
      case .language:
        return [.sourceLanguage, .text(" "), .input(0, placeholder: "input")]
      case .protein:
        return [.domain("Protein"), .text(" "), .input(0, placeholder: "input")]
      case .smiles:
        return [.domain("SMILES"), .text(" "), .input(0, placeholder: "input")]
      case .translate:
        return [.text("# # Input: "), .sourceLanguage, .text(" "), .input(0, placeholder: "input"), .text(" \n# # Output: "),
                .targetLanguage, .text(" "), .function("Translate"), .text(" "), .output]
      case .descriptor:
        return [.text("# # Input: The protein sequence is "), .domain("Protein"), .text(" "), .input(0, placeholder: "input"),
                .text(". \n# # Output: The descriptor value is "), .function("Descriptor"), .text(" "), .output, .text(".")]
      case .qed:
        return [.text("# # Input: The SMILES of the molecule is "), .domain("SMILES"), .text(" "),
                .input(0, placeholder: "input"),
                .text(". \n# # Output: the quantitative estimate of druglikeness score is "), .function("QED"), .text(" "),
                .output, .text(".")]
      case .ba:
        return [.text("# # Input: The protein sequence is "), .domain("Protein"), .text(" "), .input(0, placeholder: "input 0"),
                .text(". \nThe SMILES of the drug is "), .domain("SMILES"), .text(" "), .input(1, placeholder: "input 1"),
                .text(". \n# # Output: The binding affinity is "), .function("BA"), .text(" "), .output, .text(".")]
      case .dc:
        return [.text("# # Input: Drug 1 is "), .input(2, placeholder: "input 2"), .text(". Its SMILES is "), .domain("SMILES"),
                .text(" "), .input(0, placeholder: "input 0"), .text(". \nDrug 2 is "), .input(3, placeholder: "input 3"),
                .text(". Its SMILES is "), .domain("SMILES"), .text(" "), .input(1, placeholder: "input 1"),
                .text(". \n# # Output: The drug combination sensitivity score is "), .function("DC"), .text(" "), .output,
                .text(".")]
      }
    }

    /// The template after the ablation: a dropped tag takes the space after it with it; with
    /// both tags off a regression template ends after the "is " before its function tag.
    /// Stage-1 templates (which learn the domain tag itself) are never ablated.
    public func template(_ ablation: Ablation) -> [Piece] {
      TaskTemplate.ablate(template, stage: stage, regression: regression, ablation)
    }
  }

  /// A typed piece of a filled formulation.
  public struct Segment: Sendable, Equatable {
    public enum Kind: String, Sendable { case text, smiles, protein, tag, label }
    public var kind: Kind
    public var text: String
    public init(_ kind: Kind, _ text: String) {
      self.kind = kind
      self.text = text
    }
  }

  /// The template with placeholders (`<input 0>`, `<output>`) and tag names, as FORMATS 7.2
  /// writes it; `source`/`target` name the languages of Language and Translate (`<SRC>`, `<TGT>`).
  public static func templateString(_ task: Task, ablation: Ablation = .both, source: String = "SRC",
                                    target: String = "TGT") -> String
  {
    TaskTemplate.string(task.template(ablation), source: source, target: target)
  }

  /// Fills `task`'s template: `inputs` by index (their segment kinds in `inputKinds`), the
  /// output (nil: none), the languages of Language/Translate.
  public static func fill(_ task: Task, ablation: Ablation, inputs: [String], inputKinds: [Segment.Kind], output: String?,
                          outputKind: Segment.Kind = .label, source: String = "", target: String = "") -> [Segment]
  {
    TaskTemplate.fill(task.template(ablation), inputs: inputs, inputKinds: inputKinds, output: output, outputKind: outputKind,
                      source: source, target: target)
  }

  /// Tag-LLM's label string (FORMATS 7.3): Python's `str(value)[:6]`, right-padded with `0` to
  /// six characters. The string can differ a lot from the value (1e-05 gives `1e-050`, which reads
  /// back as 1e-50): keep the exact value beside it. Nil for a value that is not finite.
  public static func labelString(_ value: Double) -> String? {
    var scratch: [UInt8] = []
    return labelString(value, scratch: &scratch)
  }

  /// ``labelString(_:)`` made in `scratch` (a builder's, reused from label to label).
  static func labelString(_ value: Double, scratch out: inout [UInt8]) -> String? {
    guard value.isFinite else { return nil }
    out.removeAll(keepingCapacity: true)
    out.reserveCapacity(32)
    appendPythonRepr(value, to: &out)
    if out.count > 6 { out.removeLast(out.count - 6) }
    while out.count < 6 { out.append(UInt8(ascii: "0")) }
    return String(decoding: out, as: UTF8.self)
  }

  /// Whether a label string of ``labelString(_:)`` reads as a number: all do but those whose
  /// exponent the cut to six characters left without digits (`1.42e+`).
  static func labelStringIsNumber(_ label: String) -> Bool {
    guard let last = label.utf8.last else { return false }
    return (last >= UInt8(ascii: "0") && last <= UInt8(ascii: "9")) || last == UInt8(ascii: ".")
  }

  /// Whether `float(label)` (what Tag-LLM regresses) is within 1% of `value`.
  public static func labelReadsBack(_ label: String, _ value: Double) -> Bool {
    guard let parsed = Double(label) else { return false }
    return abs(parsed - value) <= 0.01 * abs(value)
  }

  /// DrugComb's CSS as Tag-LLM regresses it: `float(Y) * 0.1`.
  public static func dcScaled(_ y: Double) -> Double { y * 0.1 }

  /// Python's `repr(float)` (= `str`): the shortest round-tripping digits, in positional notation
  /// when the decimal exponent is in [-4, 16), else `d.ddde±XX`; a whole number ends in `.0`.
  public static func pythonRepr(_ value: Double) -> String? {
    guard value.isFinite else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(32)
    appendPythonRepr(value, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// ``pythonRepr(_:)``'s bytes appended to `out` (a finite `value`).
  static func appendPythonRepr(_ value: Double, to out: inout [UInt8]) {
    if value == 0 {
      out.append(contentsOf: value.sign == .minus ? "-0.0".utf8 : "0.0".utf8)
      return
    }
    // Swift's description has the same shortest digits; take them apart: value = 0.DIGITS * 10^decpt.
    var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var n = 0
    var decpt = 0
    var text = abs(value).description
    text.withUTF8 { d in
      withUnsafeMutableBytes(of: &digits) { dig in
        var end = d.count, exp10 = 0
        if let e = d.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
          end = e
          var k = e + 1, negative = false
          if k < d.count, d[k] == UInt8(ascii: "-") || d[k] == UInt8(ascii: "+") {
            negative = d[k] == UInt8(ascii: "-")
            k += 1
          }
          while k < d.count { exp10 = exp10 * 10 + Int(d[k] &- 0x30); k += 1 }
          if negative { exp10 = -exp10 }
        }
        var pointAt = -1
        for k in 0..<end {
          if d[k] == UInt8(ascii: ".") { pointAt = n } else if n < dig.count { dig[n] = d[k]; n += 1 }
        }
        decpt = (pointAt < 0 ? n : pointAt) + exp10
      }
    }
    withUnsafeBytes(of: &digits) { dig in
      var start = 0, stop = n
      while stop - start > 1 && dig[start] == UInt8(ascii: "0") {
        start += 1
        decpt -= 1
      }
      while stop - start > 1 && dig[stop - 1] == UInt8(ascii: "0") { stop -= 1 }
      let ds = UnsafeRawBufferPointer(rebasing: dig[start..<stop])
      let count = ds.count
      func zeros(_ k: Int) { for _ in 0..<max(0, k) { out.append(UInt8(ascii: "0")) } }
      if value < 0 { out.append(UInt8(ascii: "-")) }
      if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
          out.append(contentsOf: "0.".utf8)
          zeros(-decpt)
          out.append(contentsOf: ds)
        } else if decpt >= count {
          out.append(contentsOf: ds)
          zeros(decpt - count)
          out.append(contentsOf: ".0".utf8)
        } else {
          out.append(contentsOf: ds[0..<decpt])
          out.append(UInt8(ascii: "."))
          out.append(contentsOf: ds[decpt...])
        }
      } else {
        let e = decpt - 1
        out.append(ds[0])
        if count > 1 {
          out.append(UInt8(ascii: "."))
          out.append(contentsOf: ds[1...])
        }
        out.append(contentsOf: e < 0 ? "e-".utf8 : "e+".utf8)
        let mag = abs(e)
        if mag < 10 { out.append(UInt8(ascii: "0")) }
        if mag >= 100 { out.append(UInt8(truncatingIfNeeded: 0x30 + mag / 100)) }
        if mag >= 10 { out.append(UInt8(truncatingIfNeeded: 0x30 + (mag / 10) % 10)) }
        out.append(UInt8(truncatingIfNeeded: 0x30 + mag % 10))
      }
    }
  }

}
