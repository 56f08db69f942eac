/// What `tagdata build` (and `tagdata run`'s build steps) may change in a configuration: the
/// ablation, the seed, the split, stage-1 Language tasks from text files, and the tasks kept.
public struct BuildOverrides: Sendable, Equatable {
  public var ablation: TagLLM.Ablation?
  public var seed: UInt64?
  public var split: SplitKind?
  /// Language tag and file: one stage-1 Language task per file (one example per non-blank line).
  public var texts: [(language: String, path: String)] = []
  /// Task names (any case); a name also keeps the tasks `NAME-...` (e.g. `Language` its files').
  public var tasks: [String]?

  public init() {}

  public static func == (a: BuildOverrides, b: BuildOverrides) -> Bool {
    a.ablation == b.ablation && a.seed == b.seed && a.split == b.split && a.tasks == b.tasks
      && a.texts.map(\.language) == b.texts.map(\.language) && a.texts.map(\.path) == b.texts.map(\.path)
  }

  /// A problem with the overrides themselves (a task name that names nothing, an unusable text file).
  public struct Problem: Error, Sendable, CustomStringConvertible {
    public var description: String
  }
}

extension TaskConfig {
  /// The configuration with `overrides` applied, checked (`problems()`).
  /// - Throws: `BuildOverrides.Problem` for a task name that matches nothing; `TaskConfigError`
  ///   for an unusable text file (key path `--text LANG=PATH`), and (naming `file`) when the
  ///   result is not a valid configuration.
  public func applying(_ overrides: BuildOverrides, file: String? = nil) throws -> TaskConfig {
    var c = self
    if let a = overrides.ablation { c.ablation = a }
    if let s = overrides.seed { c.seed = s }
    if let s = overrides.split { c.setSplit(s) }
    for (language, path) in overrides.texts {
      let lang = language.uppercased()
      if let why = TaskConfig.unusableTextFile(path) {
        throw TaskConfigError(file: nil, problems: [.init(keyPath: "--text \(language)=\(path)", message: why)])
      }
      var spec = TaskSpec(name: "Language-\(lang)-\(c.tasks.filter { $0.name.hasPrefix("Language-\(lang)") }.count + 1)",
                          stage: 1, source: .text(path: path, language: lang),
                          inputs: [InputSpec(field: "text", kind: .text)], template: "<SRC> <input>", output: .none)
      spec.maxLength = nil
      c.tasks.append(spec)
    }
    if let names = overrides.tasks {
      var keep: [TaskSpec] = []
      for part in names {
        let name = part.trimmingCharacters(in: .whitespaces).lowercased()
        if name.isEmpty { continue }
        let found = c.tasks.filter { $0.name.lowercased() == name || $0.name.lowercased().hasPrefix(name + "-") }
        if found.isEmpty {
          throw BuildOverrides.Problem(description: "unknown task '\(part)' (known: \(c.tasks.map(\.name).joined(separator: ", ")))")
        }
        for f in found where !keep.contains(where: { $0.name == f.name }) { keep.append(f) }
      }
      if keep.isEmpty { throw BuildOverrides.Problem(description: "the task list names no task") }
      c.tasks = keep
    }
    let problems = c.problems()
    if !problems.isEmpty { throw TaskConfigError(file: file, problems: problems) }
    return c
  }
}
