import Testing
import TestSupport

/// The venv's python when it imports `modules`; nil otherwise, recorded as an issue when there
/// is no venv or when interop is required (TAGDATA_REQUIRE_INTEROP=1) and a module is missing.
func interopPython(importing modules: [String]) throws -> String? {
  guard let python = TestSupport.python else {
    Issue.record("no venv python (TAGDATA_PYTHON)")
    return nil
  }
  let probe = try TestSupport.run(python, ["-c", "import " + modules.joined(separator: ", ")])
  if probe.status != 0 {
    if TestSupport.interopRequired { Issue.record("\(modules.joined(separator: "/")) missing: \(probe.stderr)") }
    return nil
  }
  return python
}
