import Foundation
import TagdataPipeline
import Testing
import TestSupport

/// `tagdata slurm` without a cluster: the scripts it writes (read by bash, quoted for hostile
/// paths, markers last), what a rerun submits (markers missing, stale, outputs gone), and the
/// command against fake `sbatch`, `squeue` and `scancel` that record their arguments.
@Suite struct SlurmScriptTests {
  static let corpora = TestSupport.root.appendingPathComponent("Corpora").path

  /// A small configuration: a UniProt flat file and an SD file, a table with a preset, a build.
  static func makeConfig(in dir: URL, describe: Bool = true, tokenize: Bool = false) throws -> String {
    let yaml = """
      ingest:
        - files: [\(corpora)/uniprot/flat/sp012.dat, \(corpora)/pubchem/sdf/pubchem.200.sdf]
        - preset: tdc-dti
          files: [\(corpora)/tables/tdc_dti_sample.csv]
      \(describe ? "describe: [qed]" : "")
      builds:
        - name: main
          preset: tag-llm
          tasks: [Protein, SMILES, BA]
          shards: 2
      \(tokenize ? "tokenize:\n  - {name: text, build: main, smiles_tokens: true, smiles_min_count: 2, regression_as_text: true}" : "")

      """
    let file = dir.appendingPathComponent("pipeline.yaml").path
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
    return file
  }

  /// The version the built binary says (part of every key).
  static let version = ((try? TestSupport.tagdata(["--version"]))?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)

  static func plan(_ config: String, out: String, n: Int = 4, options: SlurmOptions = SlurmOptions(),
                   tagdata: String = "/opt/tag data/bin/tagdata") throws -> SlurmPlan
  {
    try SlurmPlan(config: try PipelineConfig.load(path: config), partitions: n, output: out, tagdata: tagdata,
                  toolVersion: version, options: options)
  }

  /// Writes every task's marker and output, as successful jobs leave them.
  static func complete(_ plan: SlurmPlan, except: Set<String> = []) throws {
    for job in plan.jobs {
      for k in job.markers.indices where !except.contains(job.isArray ? "\(job.id)[\(k)]" : job.id) {
        for path in [job.markers[k], job.outputs[k]] {
          try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        try Data((job.key + "\n").utf8).write(to: URL(fileURLWithPath: job.markers[k]))
        try Data().write(to: URL(fileURLWithPath: job.outputs[k]))
      }
    }
  }

  @Test func quotingSurvivesBash() throws {
    for s in ["plain/path", "with space", "it's", "a\"b", "$HOME `id` $(id)", "tab\there", "new\nline", "*?[x]", "", "-n", "ü é"] {
      let r = try TestSupport.run("/bin/bash", ["-c", "printf '%s' " + SlurmPlan.quote(s)])
      #expect(r.stdout == s, "quoting \(s.debugDescription) gave \(r.stdout.debugDescription)")
    }
  }

  @Test func arraySpecs() {
    #expect(SlurmWork.arraySpec([0, 1, 2, 3]) == "0-3")
    #expect(SlurmWork.arraySpec([1, 3]) == "1,3")
    #expect(SlurmWork.arraySpec([0, 1, 3, 5, 6, 7]) == "0-1,3,5-7")
    #expect(SlurmWork.arraySpec([2]) == "2")
  }

  @Test func scriptsCarryTheOptionsAndEndWithTheMarker() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = try Self.makeConfig(in: dir, tokenize: true)
    var options = SlurmOptions()
    options.account = "chem"
    options.time = "01:30:00"
    options.memory = "8G"
    options.partition = "cpu"
    options.qos = "normal"
    options.extra = ["--constraint=skylake", "--exclusive"]
    let out = dir.appendingPathComponent("o u't").path
    let plan = try Self.plan(config, out: out, options: options)
    #expect(plan.jobs.map(\.id) == ["ingest", "catalog-merge", "describe", "labels-merge", "build:main", "build-merge:main",
                                    "tokenize:text", "tokenize-merge:text"])
    #expect(plan.jobs.map(\.after) == [nil, "ingest", "catalog-merge", "describe", "labels-merge", "build:main", "build-merge:main",
                                       "tokenize:text"])
    for job in plan.jobs {
      let text = job.script(job.isArray ? "1,3" : nil)
      let lines = text.split(separator: "\n").map(String.init)
      #expect(lines.first == "#!/bin/bash")
      let sbatch = lines.filter { $0.hasPrefix("#SBATCH ") }
      for expected in ["--account=chem", "--time=01:30:00", "--mem=8G", "--partition=cpu", "--qos=normal", "--constraint=skylake",
                       "--exclusive", "--job-name=\(job.slurmName)"]
      {
        #expect(sbatch.contains("#SBATCH " + expected), "\(job.id): \(expected) missing in \(sbatch)")
      }
      let logs = job.isArray ? "%A_%a" : "%j"
      #expect(sbatch.contains { $0.hasPrefix("#SBATCH --output=\"\(plan.work)/logs/") && $0.hasSuffix("-\(logs).out\"") }, "\(sbatch)")
      #expect(sbatch.contains { $0.hasPrefix("#SBATCH --error=\"\(plan.work)/logs/") && $0.hasSuffix("-\(logs).err\"") }, "\(sbatch)")
      #expect(sbatch.contains("#SBATCH --array=1,3") == job.isArray)
      // Every #SBATCH line comes before the first command (sbatch stops reading them there).
      let firstCommand = lines.firstIndex { !$0.hasPrefix("#") }!
      #expect(lines.lastIndex { $0.hasPrefix("#SBATCH") }! < firstCommand)
      #expect(lines[firstCommand] == "set -euo pipefail")
      #expect(text.contains("tagdata='/opt/tag data/bin/tagdata'"))
      #expect(text.contains("key=\(job.key)\n"))
      #expect(lines.last == "mv -f \"$done\".tmp \"$done\"", "\(job.id) ends with \(lines.last ?? "")")
      // bash reads it.
      let path = dir.appendingPathComponent(job.scriptName).path
      try Data(text.utf8).write(to: URL(fileURLWithPath: path))
      let syntax = try TestSupport.run("/bin/bash", ["-n", path])
      #expect(syntax.status == 0, "\(job.id): \(syntax.stderr)")
    }
    let ingest = plan.jobs[0].script("0-3")
    #expect(ingest.contains("--partition \"$k/4\" --quiet -- \(Self.corpora)/uniprot/flat/sp012.dat \(Self.corpora)/pubchem/sdf/pubchem.200.sdf\n"))
    #expect(ingest.contains("--partition \"$k/4\" --quiet --preset tdc-dti -- \(Self.corpora)/tables/tdc_dti_sample.csv\n"))
    let catalog = SlurmPlan.quote(out + "/catalog.sqlite")
    #expect(plan.jobs[1].script(nil).contains("catalog merge --out \"$tmp\" "))
    #expect(plan.jobs[2].script("0-3").contains("describe --quiet --catalog \(catalog) --descriptors qed --partition \"$k/4\" --out \"$part\"\n"))
    #expect(plan.jobs[3].script(nil).contains("catalog merge --out \(catalog) "))
    #expect(plan.jobs[4].script("0-3").contains("build --quiet --catalog \(SlurmPlan.quote(out + "/catalog.sqlite")) --preset tag-llm --tasks Protein,SMILES,BA --shards 2 --partition \"$k/4\" --out \"$work/part-$k\""))
    #expect(plan.jobs[5].script(nil).contains("export --merge --out \(SlurmPlan.quote(out + "/builds/main")) "))
    #expect(plan.jobs[6].script("0-3").contains("export --quiet --tokenized \(SlurmPlan.quote(out + "/builds/main")) --smiles-tokens "
      + "--smiles-min-count 2 --regression-as-text --partition \"$k/4\" --out \"$work/part-$k\"\n"))
    #expect(plan.jobs[7].script(nil).contains("export --merge --out \(SlurmPlan.quote(out + "/tokens/text")) "))
  }

  @Test func badValuesAreRefused() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = try Self.makeConfig(in: dir)
    #expect(throws: SlurmError.self) { try Self.plan(config, out: dir.appendingPathComponent("100%").path) }
    #expect(throws: SlurmError.self) { try Self.plan(config, out: dir.appendingPathComponent("a\"b").path) }
    var options = SlurmOptions()
    options.account = "two words"
    #expect(throws: SlurmError.self) { try Self.plan(config, out: dir.path, options: options) }
    options = SlurmOptions()
    options.extra = ["--comment=a\n#SBATCH --x"]
    #expect(throws: SlurmError.self) { try Self.plan(config, out: dir.path, options: options) }
    #expect(throws: SlurmError.self) { try Self.plan(config, out: dir.path, n: 0) }
    #expect(throws: SlurmError.self) { try Self.plan(config, out: dir.path, tagdata: "relative/tagdata") }
  }

  @Test func rerunSubmitsOnlyWhatIsNotDone() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = try Self.makeConfig(in: dir, describe: false)
    let out = dir.appendingPathComponent("out").path
    let plan = try Self.plan(config, out: out)
    func pending() -> [String: [Int]] {
      Dictionary(uniqueKeysWithValues: SlurmWork.pending(plan).items.map { ($0.id, $0.tasks) })
    }
    #expect(pending() == ["ingest": [0, 1, 2, 3], "catalog-merge": [0], "build:main": [0, 1, 2, 3], "build-merge:main": [0]])

    try Self.complete(plan)
    #expect(SlurmWork.pending(plan).isEmpty)
    #expect(SlurmWork.pending(plan).complete == ["ingest", "catalog-merge", "build:main", "build-merge:main"])

    // A build partition's marker is gone: that partition and the build's merge.
    try FileManager.default.removeItem(atPath: plan.jobs[2].markers[2])
    #expect(pending() == ["build:main": [2], "build-merge:main": [0]])
    try Self.complete(plan)

    // Its output is gone, the marker left: the same.
    try FileManager.default.removeItem(atPath: plan.jobs[2].outputs[1])
    #expect(pending() == ["build:main": [1], "build-merge:main": [0]])
    try Self.complete(plan)

    // Ingest partitions 1 and 3 failed: they, and everything after them (whole).
    try FileManager.default.removeItem(atPath: plan.jobs[0].markers[1])
    try FileManager.default.removeItem(atPath: plan.jobs[0].markers[3])
    #expect(pending() == ["ingest": [1, 3], "catalog-merge": [0], "build:main": [0, 1, 2, 3], "build-merge:main": [0]])
    try Self.complete(plan)

    // A stale marker (another key: other inputs or options) is not done.
    try Data("0000\n".utf8).write(to: URL(fileURLWithPath: plan.jobs[1].markers[0]))
    #expect(pending() == ["catalog-merge": [0], "build:main": [0, 1, 2, 3], "build-merge:main": [0]])
    try Self.complete(plan)

    // Another build option, another key: the build runs again, ingest does not.
    let yaml = try String(contentsOfFile: config, encoding: .utf8)
    try Data(yaml.replacingOccurrences(of: "shards: 2", with: "shards: 3").utf8).write(to: URL(fileURLWithPath: config))
    let changed = try Self.plan(config, out: out)
    #expect(changed.jobs[0].key == plan.jobs[0].key && changed.jobs[1].key == plan.jobs[1].key)
    #expect(changed.jobs[2].key != plan.jobs[2].key)
    #expect(SlurmWork.pending(changed).items.map(\.id) == ["build:main", "build-merge:main"])

    // An input file changed (size, time): ingest and everything after it.
    let copy = dir.appendingPathComponent("sp012.dat")
    try FileManager.default.copyItem(atPath: Self.corpora + "/uniprot/flat/sp012.dat", toPath: copy.path)
    try Data(yaml.replacingOccurrences(of: Self.corpora + "/uniprot/flat/sp012.dat", with: copy.path).utf8)
      .write(to: URL(fileURLWithPath: config))
    let moved = try Self.plan(config, out: out)
    try Self.complete(moved)
    #expect(SlurmWork.pending(moved).isEmpty)
    let handle = try FileHandle(forWritingTo: copy)
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("\n".utf8))
    try handle.close()
    #expect(SlurmWork.pending(try Self.plan(config, out: out)).items.map(\.id) == ["ingest", "catalog-merge", "build:main", "build-merge:main"])
  }

  // MARK: The command against fake Slurm commands

  /// Fake sbatch (prints the next job id, records its arguments and the array line of the
  /// script), squeue (prints the file `queue` if present) and scancel, all logging to `log`.
  static func fakes(in dir: URL) throws -> (sbatch: String, squeue: String, scancel: String, log: String) {
    let d = dir.path
    let sbatch = """
      #!/bin/bash
      n=$(( $(cat '\(d)/count' 2>/dev/null || echo 100) + 1 )); echo $n > '\(d)/count'
      echo "sbatch $* [$(sed -n 's/^#SBATCH --array=//p' "${@: -1}")]" >> '\(d)/log'
      echo "$n;cluster"

      """
    let squeue = "#!/bin/bash\necho \"squeue $*\" >> '\(d)/log'\ncat '\(d)/queue' 2>/dev/null || true\n"
    let scancel = "#!/bin/bash\necho \"scancel $*\" >> '\(d)/log'\n"
    for (name, text) in [("sbatch", sbatch), ("squeue", squeue), ("scancel", scancel)] {
      let path = d + "/" + name
      try Data(text.utf8).write(to: URL(fileURLWithPath: path))
      chmod(path, 0o755)
    }
    return (d + "/sbatch", d + "/squeue", d + "/scancel", d + "/log")
  }

  struct Summary: Decodable {
    struct Job: Decodable {
      var name: String
      var job: String
      var array: String?
      var dependency: String?
    }
    var complete: Bool
    var submitted: [Job]
    var done: [String]
    var cancelled: [String]
    var succeeded: Bool?
    var failed: [String]?
    var logs: [String]?
  }

  static func log(_ path: String) -> [String] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map(String.init)
  }

  @Test func commandSubmitsResubmitsAndRefusesTwice() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = try Self.makeConfig(in: dir, describe: false)
    let fake = try Self.fakes(in: dir)
    let out = dir.appendingPathComponent("out put").path
    let binary = "/opt/tag data/bin/tagdata"
    let common = ["slurm", "--config", config, "--out", out, "--partitions", "4", "--tagdata", binary, "--sbatch", fake.sbatch,
                  "--squeue", fake.squeue, "--scancel", fake.scancel, "--account", "chem", "--poll", "0.05"]

    // --dry-run: every script and sbatch line, nothing written or submitted.
    let dry = try TestSupport.tagdata(common + ["--dry-run"])
    #expect(dry.status == 0, "\(dry.stderr)")
    #expect(dry.stdout.components(separatedBy: "#!/bin/bash\n").count == 5)
    #expect(dry.stdout.contains("JOB_INGEST=$(sbatch --parsable '\(out)/slurm/scripts/ingest.sh')"), "\(dry.stdout)")
    #expect(dry.stdout.contains("JOB_CATALOG_MERGE=$(sbatch --parsable --dependency=afterok:\"$JOB_INGEST\" '\(out)/slurm/scripts/catalog-merge.sh')"))
    #expect(!FileManager.default.fileExists(atPath: out))
    #expect(Self.log(fake.log).isEmpty)

    // The first submission: the chain, each job after the one before.
    let first = try TestSupport.tagdata(common + ["--json"])
    #expect(first.status == 0, "\(first.stderr)")
    let s1 = try JSONDecoder().decode(Summary.self, from: Data(first.stdout.utf8))
    #expect(s1.submitted.map(\.name) == ["ingest", "catalog-merge", "build:main", "build-merge:main"])
    #expect(s1.submitted.map(\.job) == ["101", "102", "103", "104"])
    #expect(s1.submitted.map(\.dependency) == [nil, "101", "102", "103"])
    #expect(s1.submitted.map(\.array) == ["0-3", nil, "0-3", nil])
    #expect(Self.log(fake.log) == [
      "sbatch --parsable \(out)/slurm/scripts/ingest.sh [0-3]",
      "sbatch --parsable --dependency=afterok:101 \(out)/slurm/scripts/catalog-merge.sh []",
      "sbatch --parsable --dependency=afterok:102 \(out)/slurm/scripts/build-main.sh [0-3]",
      "sbatch --parsable --dependency=afterok:103 \(out)/slurm/scripts/build-merge-main.sh []",
    ])
    let script = try String(contentsOfFile: out + "/slurm/scripts/ingest.sh", encoding: .utf8)
    #expect(script.contains("#SBATCH --account=chem\n"))
    let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/slurm/slurm-state.json"))) as? [String: Any]
    #expect((state?["submissions"] as? [Any])?.count == 1)
    #expect(state?["partitions"] as? Int == 4)

    // Still queued (a task running): nothing is submitted twice; exit 75.
    try Data("101_2|RUNNING|None\n101_3|PENDING|Resources\n104|PENDING|Dependency\n999|RUNNING|None\n".utf8)
      .write(to: dir.appendingPathComponent("queue"))
    let twice = try TestSupport.tagdata(common)
    #expect(twice.status == 75, "\(twice.stderr)")
    #expect(twice.stderr.contains("101") && twice.stderr.contains("104") && !twice.stderr.contains("999"), "\(twice.stderr)")
    #expect(Self.log(fake.log).filter { $0.hasPrefix("sbatch") }.count == 4)

    // The array ended with partitions 0, 1, 3 done and 2 failed: the rest of the chain waits for
    // ever (DependencyNeverSatisfied); a rerun cancels it and submits partition 2 and what follows.
    let plan = try Self.plan(config, out: out, tagdata: binary)
    #expect(!Self.version.isEmpty)
    try Self.complete(plan, except: ["ingest[2]", "catalog-merge", "build:main[0]", "build:main[1]", "build:main[2]", "build:main[3]",
                                     "build-merge:main"])
    // Task 0 still runs: refused (exit 75), naming it; the jobs that can never run are cancelled
    // all at once, the chain after the stuck one too.
    try Data("101_0|RUNNING|None\n102|PENDING|DependencyNeverSatisfied\n103_[0-3]|PENDING|Dependency\n104|PENDING|Dependency\n".utf8)
      .write(to: dir.appendingPathComponent("queue"))
    let stuck = try TestSupport.tagdata(common)
    #expect(stuck.status == 75, "\(stuck.stderr)")
    #expect(stuck.stderr.contains("(101)"), "\(stuck.stderr)")
    #expect(Self.log(fake.log).contains("scancel 102 103 104"), "\(Self.log(fake.log))")
    #expect(Self.log(fake.log).filter { $0.hasPrefix("sbatch") }.count == 4)
    // With the array ended: cancelled, and submitted again.
    try Data("102|PENDING|DependencyNeverSatisfied\n103_[0-3]|PENDING|Dependency\n104|PENDING|Dependency\n".utf8)
      .write(to: dir.appendingPathComponent("queue"))
    let again = try TestSupport.tagdata(common + ["--json"])
    #expect(again.status == 0, "\(again.stderr)")
    let s2 = try JSONDecoder().decode(Summary.self, from: Data(again.stdout.utf8))
    #expect(s2.cancelled == ["102", "103", "104"])
    #expect(s2.submitted.map(\.name) == ["ingest", "catalog-merge", "build:main", "build-merge:main"])
    #expect(s2.submitted.map(\.array) == ["2", nil, "0-3", nil])
    #expect(s2.submitted.map(\.dependency) == [nil, "105", "106", "107"])
    #expect(try String(contentsOfFile: out + "/slurm/scripts/ingest.sh", encoding: .utf8).contains("#SBATCH --array=2\n"))

    // Everything done: nothing submitted, and said so.
    try FileManager.default.removeItem(at: dir.appendingPathComponent("queue"))
    try Self.complete(plan)
    let before = Self.log(fake.log).filter { $0.hasPrefix("sbatch") }.count
    let done = try TestSupport.tagdata(common + ["--json"])
    #expect(done.status == 0, "\(done.stderr)")
    let s3 = try JSONDecoder().decode(Summary.self, from: Data(done.stdout.utf8))
    #expect(s3.complete && s3.submitted.isEmpty)
    #expect(done.stderr.contains("every job is done"), "\(done.stderr)")
    #expect(Self.log(fake.log).filter { $0.hasPrefix("sbatch") }.count == before)

    // --wait with one build partition gone: submits it and its merge, waits for the queue to
    // empty, then finds the (fake) jobs wrote no marker: exit 1, naming them.
    try FileManager.default.removeItem(atPath: plan.jobs[2].markers[3])
    let waited = try TestSupport.tagdata(common + ["--wait", "--timeout", "30", "--json"])
    #expect(waited.status == 1, "\(waited.stderr)")
    let s4 = try JSONDecoder().decode(Summary.self, from: Data(waited.stdout.utf8))
    #expect(s4.submitted.map(\.array) == ["3", nil])
    #expect(s4.succeeded == false)
    #expect(s4.failed == ["build:main[3]"])
    #expect(waited.stderr.contains("build:main[3]"), "\(waited.stderr)")

    // Another tagdata slurm holds the work folder's lock: exit 75, nothing asked or submitted.
    let before2 = Self.log(fake.log).count
    let holder = try TestSupport.run("/usr/bin/flock", ["--nonblock", out + "/slurm/slurm.lock", TestSupport.tagdataBinary] + common)
    #expect(holder.status == 75, "\(holder.stderr)")
    #expect(holder.stderr.contains("another tagdata slurm is submitting"), "\(holder.stderr)")
    #expect(Self.log(fake.log).count == before2)

    // squeue keeps failing (no controller): asked 5 times, then exit 69 with its message.
    try Data("#!/bin/bash\necho \"squeue $*\" >> '\(dir.path)/log'\necho 'slurm_load_jobs error: Unable to contact slurm controller' >&2\nexit 1\n".utf8)
      .write(to: URL(fileURLWithPath: fake.squeue))
    let asked = Self.log(fake.log).filter { $0.hasPrefix("squeue") }.count
    let down = try TestSupport.tagdata(common)
    #expect(down.status == 69, "\(down.stderr)")
    #expect(down.stderr.contains("Unable to contact slurm controller"), "\(down.stderr)")
    #expect(Self.log(fake.log).filter { $0.hasPrefix("squeue") }.count == asked + 5)
  }

  @Test func missingSbatchIsNamed() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = try Self.makeConfig(in: dir)
    let r = try TestSupport.tagdata(["slurm", "--config", config, "--out", dir.path + "/out", "--partitions", "2",
                                     "--sbatch", dir.path + "/no-such-sbatch"])
    #expect(r.status == 69, "\(r.stderr)")
    #expect(r.stderr.contains("no-such-sbatch: not found"), "\(r.stderr)")
    let usage = try TestSupport.tagdata(["slurm", "--config", config, "--out", dir.path + "/50%", "--partitions", "2", "--dry-run"])
    #expect(usage.status == 64, "\(usage.stderr)")
  }

  /// The scripts run for real, without Slurm: a fake sbatch runs each array task in turn
  /// (`SLURM_ARRAY_TASK_ID` set) and each job after the one before. The merged catalog's dump
  /// (with the labels of the describe array merged into it) equals one process's; a task whose tagdata fails leaves no marker, and a rerun runs it
  /// alone. (The builds need `tagdata build --partition`; the cluster test covers them.)
  @Test func scriptsRunToTheSingleProcessCatalog() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var yaml = try String(contentsOfFile: try Self.makeConfig(in: dir), encoding: .utf8)
    yaml = String(yaml[..<yaml.range(of: "builds:")!.lowerBound])
    let config = dir.appendingPathComponent("ingest-only.yaml").path
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: config))
    let d = dir.path
    // A tagdata that fails in partition 1 while the file `fail` exists.
    let wrapper = d + "/tagdata-wrapper"
    try Data("#!/bin/bash\nif [[ ${SLURM_ARRAY_TASK_ID:-} == 1 && -e '\(d)/fail' ]]; then echo 'partition 1 fails on purpose' >&2; exit 3; fi\nexec \(SlurmPlan.quote(TestSupport.tagdataBinary)) \"$@\"\n".utf8)
      .write(to: URL(fileURLWithPath: wrapper))
    chmod(wrapper, 0o755)
    let sbatch = """
      #!/bin/bash
      n=$(( $(cat '\(d)/count' 2>/dev/null || echo 0) + 1 )); echo $n > '\(d)/count'
      script="${@: -1}"
      echo "sbatch $* [$(sed -n 's/^#SBATCH --array=//p' "$script")]" >> '\(d)/log'
      if [[ "$*" == *--dependency=afterok:* && -e '\(d)/failed' ]]; then echo $n; exit 0; fi
      arr=$(sed -n 's/^#SBATCH --array=//p' "$script")
      err=$(sed -n 's/^#SBATCH --error=//p' "$script" | tr -d '"')
      if [[ -n $arr ]]; then
        for k in ${arr//,/ }; do
          for t in $(seq ${k%-*} ${k#*-}); do
            e=${err//%A/$n}
            SLURM_ARRAY_TASK_ID=$t bash "$script" >> '\(d)/jobs.log' 2> "${e//%a/$t}" || touch '\(d)/failed'
          done
        done
      else
        bash "$script" >> '\(d)/jobs.log' 2> "${err//%j/$n}" || touch '\(d)/failed'
      fi
      echo $n

      """
    try Data(sbatch.utf8).write(to: URL(fileURLWithPath: d + "/sbatch"))
    chmod(d + "/sbatch", 0o755)
    try Data("#!/bin/bash\n".utf8).write(to: URL(fileURLWithPath: d + "/squeue"))
    chmod(d + "/squeue", 0o755)
    let out = d + "/out"
    let command = ["slurm", "--config", config, "--out", out, "--partitions", "4", "--tagdata", wrapper, "--sbatch", d + "/sbatch",
                   "--squeue", d + "/squeue", "--scancel", "/bin/true", "--wait", "--poll", "0.05", "--json"]
    try Data().write(to: URL(fileURLWithPath: d + "/fail"))
    let failing = try TestSupport.tagdata(command)
    #expect(failing.status == 1, "\(failing.stderr)")
    let s1 = try JSONDecoder().decode(Summary.self, from: Data(failing.stdout.utf8))
    #expect(s1.failed == ["ingest[1]", "catalog-merge", "describe[0]", "describe[1]", "describe[2]", "describe[3]", "labels-merge"])
    // The log of the task that ran and failed, and its last lines.
    #expect(s1.logs == [out + "/slurm/logs/ingest-1_1.err"])
    #expect(failing.stderr.contains("ingest-1_1.err:\n    partition 1 fails on purpose"), "\(failing.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out + "/slurm/ingest/part-1.done"))
    #expect(FileManager.default.fileExists(atPath: out + "/slurm/ingest/part-2.done"))

    try FileManager.default.removeItem(atPath: d + "/fail")
    try FileManager.default.removeItem(atPath: d + "/failed")
    let rerun = try TestSupport.tagdata(command)
    #expect(rerun.status == 0, "\(rerun.stderr)\n\((try? String(contentsOfFile: d + "/jobs.log", encoding: .utf8)) ?? "")")
    let s2 = try JSONDecoder().decode(Summary.self, from: Data(rerun.stdout.utf8))
    #expect(s2.submitted.map(\.array) == ["1", nil, "0-3", nil])
    #expect(s2.succeeded == true)

    // One process: each entry in order into one catalog, then describe.
    let single = d + "/single.sqlite"
    let c = Self.corpora
    for args in [["--", c + "/uniprot/flat/sp012.dat", c + "/pubchem/sdf/pubchem.200.sdf"], ["--preset", "tdc-dti", "--", c + "/tables/tdc_dti_sample.csv"]] {
      let r = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", single] + args)
      #expect(r.status == 0, "\(r.stderr)")
    }
    #expect(try TestSupport.tagdata(["describe", "--quiet", "--catalog", single, "--descriptors", "qed"]).status == 0)
    let expected = try TestSupport.tagdata(["catalog", "dump", "--catalog", single])
    let merged = try TestSupport.tagdata(["catalog", "dump", "--catalog", out + "/catalog.sqlite"])
    #expect(expected.status == 0 && merged.status == 0)
    #expect(expected.stdout.count > 1000)
    #expect(merged.stdout == expected.stdout)
  }
}
