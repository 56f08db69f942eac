extension ConfigJSON.Node {
  /// A value found at `line` and `column` (both from 1) of a configuration file: for readers of
  /// other syntaxes (YAML) that produce the same tree as `ConfigJSON.parse`.
  public init(_ value: ConfigJSON, line: Int, column: Int) {
    self.init(value: value, line: line, column: column)
  }
}
