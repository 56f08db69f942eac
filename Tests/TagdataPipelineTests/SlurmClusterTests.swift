import Foundation
import TagdataPipeline
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Whether this machine can start the single-node cluster.
enum SlurmTools {
  static var available: Bool {
    (getuid() == 0 || sudo)
      && ["/usr/bin/unshare", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"]
      .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// Not root, but sudo without a password (a CI runner): the cluster starts through sudo and
  /// runs the test's commands as this user.
  static let sudo: Bool = getuid() != 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/sudo")
    && ((try? TestSupport.run("/usr/bin/sudo", ["-n", "true"]))?.status == 0)

  /// How to start a command in a private network namespace.
  static var unshare: [String] { (getuid() == 0 ? [] : ["/usr/bin/sudo", "-n"]) + ["/usr/bin/unshare", "-n"] }
}

/// `tagdata slurm --wait` (ingest, catalog merge, describe, labels merge, build, build merge,
/// tokenized export, its merge) on a real single-node Slurm (Debian's slurm-wlm and munge, started by
/// `Scripts/slurm-local` inside `unshare -n`: loopback only, its own munge key and slurm.conf,
/// daemons stopped by their pids), 4-way, against one process doing the same: the merged
/// catalog's dump, the build's and the token dataset's files byte for byte. Then a task is killed while it runs
/// (scancel of one array index) and `tagdata slurm --wait` again submits that partition alone
/// and ends with the same result; a partition whose output and marker are deleted is run again
/// alone; a finished chain submits nothing.
///
/// It runs as root, or through sudo without a password, where the tools are installed
/// (Scripts/bootstrap installs them); with
/// TAGDATA_REQUIRE_INTEROP=1 (CI) it always runs, and fails saying why when Slurm cannot start.
@Suite(.serialized, .enabled(if: SlurmTools.available || TestSupport.interopRequired,
                             "needs root, unshare and Debian's slurm-wlm and munge (Scripts/bootstrap)"))
struct SlurmClusterTests {
  static let corpora = TestSupport.root.appendingPathComponent("Corpora").path
  static let slurmLocal = TestSupport.root.appendingPathComponent("Scripts/slurm-local").path

  /// The builds and tokenized exports of the configuration (`tagdata build --partition`,
  /// `tagdata export --tokenized --partition`, `tagdata export --merge`).
  static let includesBuilds = true

  /// The pipeline: the UniProt flat sample, an SD file, the BindingDB sample, a table; QED
  /// labels; one Tag-LLM build of three tasks in 4 shards, tokenized with the byte tokenizer.
  static func makeConfig(in dir: URL) throws -> String {
    var yaml = """
      ingest:
        - files:
            - \(corpora)/uniprot/flat/sp012.dat
            - \(corpora)/uniprot/flat/sp013.dat
            - \(corpora)/pubchem/sdf/pubchem.200.sdf
            - \(corpora)/bindingdb/bindingdb_2022m5_sample.tsv
        - preset: tdc-dti
          files: [\(corpora)/tables/tdc_dti_sample.csv]
      describe: [qed]

      """
    if includesBuilds {
      yaml += """
        builds:
          - name: main
            preset: tag-llm
            tasks: [Protein, SMILES, BA]
            shards: 4
        tokenize:
          - {name: main, build: main}

        """
    }
    let file = dir.appendingPathComponent("pipeline.yaml").path
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
    return file
  }

  /// The same work in one process: each entry in order into one catalog, describe, build.
  static func singleProcess(into dir: String) throws {
    for folder in ["builds", "tokens"] { try FileManager.default.createDirectory(atPath: dir + "/" + folder, withIntermediateDirectories: true) }
    let catalog = dir + "/catalog.sqlite"
    let c = corpora
    let steps: [[String]] = [
      ["ingest", "--quiet", "--catalog", catalog, "--", c + "/uniprot/flat/sp012.dat", c + "/uniprot/flat/sp013.dat",
       c + "/pubchem/sdf/pubchem.200.sdf", c + "/bindingdb/bindingdb_2022m5_sample.tsv"],
      ["ingest", "--quiet", "--catalog", catalog, "--preset", "tdc-dti", "--", c + "/tables/tdc_dti_sample.csv"],
      ["describe", "--quiet", "--catalog", catalog, "--descriptors", "qed"],
    ] + (includesBuilds
      ? [["build", "--quiet", "--catalog", catalog, "--preset", "tag-llm", "--tasks", "Protein,SMILES,BA", "--shards", "4",
          "--out", dir + "/builds/main"], ["export", "--quiet", "--tokenized", dir + "/builds/main", "--out", dir + "/tokens/main"]] : [])
    for args in steps {
      let r = try TestSupport.tagdata(args)
      try #require(r.status == 0, "tagdata \(args.joined(separator: " ")): \(r.stderr)")
    }
  }

  /// Every regular file below a folder, by relative path.
  static func files(_ dir: String) -> [String: Data] {
    var out: [String: Data] = [:]
    guard let walker = FileManager.default.enumerator(atPath: dir) else { return out }
    while let relative = walker.nextObject() as? String {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: dir + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
        out[relative] = FileManager.default.contents(atPath: dir + "/" + relative)
      }
    }
    return out
  }

  /// The result of a Slurm run equals the single process's: the catalog's dump, every build file.
  static func expectSameResult(_ out: String, _ reference: String, _ label: String) throws {
    let expected = try TestSupport.tagdata(["catalog", "dump", "--catalog", reference + "/catalog.sqlite"])
    let got = try TestSupport.tagdata(["catalog", "dump", "--catalog", out + "/catalog.sqlite"])
    #expect(expected.status == 0 && got.status == 0, "\(label): \(expected.stderr) \(got.stderr)")
    #expect(expected.stdout.split(separator: "\n").count > 1000, "\(label): the reference catalog is nearly empty")
    #expect(got.stdout == expected.stdout, "\(label): the merged catalog's dump differs from one process's")
    if includesBuilds {
      for folder in ["builds/main", "tokens/main"] {
        let a = files(reference + "/" + folder), b = files(out + "/" + folder)
        #expect(a.count >= 6, "\(label): reference files \(a.keys.sorted())")
        #expect(a.keys.sorted() == b.keys.sorted(), "\(label): \(folder): \(b.keys.sorted()) vs \(a.keys.sorted())")
        for (name, bytes) in a where b[name] != bytes { Issue.record("\(label): \(folder)/\(name) differs from one process's") }
      }
    }
  }

  struct Summary: Decodable {
    struct Job: Decodable {
      var name: String
      var job: String
      var array: String?
    }
    var complete: Bool
    var submitted: [Job]
    var cancelled: [String]
    var succeeded: Bool?
    var failed: [String]?
  }

  /// Runs a driver script on a fresh single-node Slurm, bounded; the driver writes NAME.json,
  /// NAME.err and NAME.status per `tagdata slurm` call into `dir`.
  static func onCluster(_ driver: String, in dir: URL) throws {
    let path = dir.appendingPathComponent("driver.sh").path
    try Data(("set -u\ncd " + SlurmPlan.quote(dir.path) + "\n" + driver).utf8).write(to: URL(fileURLWithPath: path))
    let r = try TestSupport.run("/usr/bin/timeout", ["--kill-after=15", "600"] + SlurmTools.unshare + [slurmLocal, "/bin/bash", path])
    // The daemons never outlive the cluster.
    #expect(strayDaemons().isEmpty, "daemons left running: \(strayDaemons())")
    try #require(r.status == 0, "single-node Slurm (status \(r.status)): \(r.stderr.suffix(6000))")
  }

  /// Processes whose command line names a slurm-local folder (munged, slurmctld, slurmd).
  static func strayDaemons() -> [String] {
    var out: [String] = []
    for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
      let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
      if line.contains("/tmp/slurm-local.") && (line.contains("slurmctld") || line.contains("slurmd") || line.contains("munged")) {
        out.append("\(pid): \(line)")
      }
    }
    return out
  }

  static func summary(_ dir: URL, _ name: String) throws -> (status: Int, summary: Summary?, stderr: String) {
    let status = Int((try? String(contentsOf: dir.appendingPathComponent(name + ".status"), encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
    let stderr = (try? String(contentsOf: dir.appendingPathComponent(name + ".err"), encoding: .utf8)) ?? ""
    let json = FileManager.default.contents(atPath: dir.appendingPathComponent(name + ".json").path) ?? Data()
    return (status, try? JSONDecoder().decode(Summary.self, from: json), stderr)
  }

  /// One `tagdata slurm` call in a driver: its JSON, standard error and status into NAME.*.
  static func call(_ name: String, _ arguments: [String]) -> String {
    ([TestSupport.tagdataBinary, "slurm"] + arguments + ["--json"]).map(SlurmPlan.quote).joined(separator: " ")
      + " > \(name).json 2> \(name).err; echo $? > \(name).status\n"
  }

  @Test func arrayRunEqualsOneProcessAndRerunsOnlyWhatFailed() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = try Self.makeConfig(in: dir)
    let reference = dir.appendingPathComponent("single").path
    try Self.singleProcess(into: reference)

    // 1. The whole chain, 4-way; again (nothing to do); a partition's output and marker deleted,
    //    again (that partition alone).
    let out = dir.appendingPathComponent("out one").path
    let wait = ["--config", config, "--out", out, "--partitions", "4", "--wait", "--poll", "0.5", "--timeout", "300"]
    let lost = Self.includesBuilds ? "slurm/builds/main/part-2" : "slurm/ingest/part-2.sqlite"
    let lostMarker = Self.includesBuilds ? "slurm/builds/main/part-2.done" : "slurm/ingest/part-2.done"
    try Self.onCluster(
      Self.call("a1", wait) + Self.call("a2", wait)
        + "rm -rf \(SlurmPlan.quote(out + "/" + lost)) \(SlurmPlan.quote(out + "/" + lostMarker))\n" + Self.call("a3", wait),
      in: dir)
    let a1 = try Self.summary(dir, "a1")
    #expect(a1.status == 0, "first run: \(a1.stderr)")
    #expect(a1.summary?.succeeded == true, "\(a1.stderr)")
    let later = Self.includesBuilds ? ["build:main", "build-merge:main", "tokenize:main", "tokenize-merge:main"] : []
    #expect(a1.summary?.submitted.map(\.name) == ["ingest", "catalog-merge", "describe", "labels-merge"] + later)
    #expect(a1.summary?.submitted.map(\.array) == ["0-3", nil, "0-3", nil] + (Self.includesBuilds ? ["0-3", nil, "0-3", nil] : []))
    let a2 = try Self.summary(dir, "a2")
    #expect(a2.status == 0 && a2.summary?.complete == true && a2.summary?.submitted.isEmpty == true, "rerun: \(a2.stderr)")
    let a3 = try Self.summary(dir, "a3")
    #expect(a3.status == 0 && a3.summary?.succeeded == true, "after deleting a partition: \(a3.stderr)")
    #expect(a3.summary?.submitted.map(\.name) == (Self.includesBuilds ? later : ["ingest", "catalog-merge", "describe", "labels-merge"]))
    #expect(a3.summary?.submitted.first?.array == "2")
    try Self.expectSameResult(out, reference, "4-way run")

    // 2. One ingest task killed while it runs (scancel of its array index): the chain after it
    //    can never run; the rerun waits for the other tasks, cancels the stuck jobs, submits
    //    that partition alone and the merges, and ends with the same result.
    let killed = dir.appendingPathComponent("out two").path
    let flag = dir.appendingPathComponent("hold").path
    let wrapper = dir.appendingPathComponent("tagdata-wrapper").path
    let q = SlurmPlan.quote
    try Data("""
      #!/bin/bash
      if [[ ${SLURM_ARRAY_TASK_ID:-} == 1 && ${1:-} == ingest && -e \(q(flag)) ]]; then touch \(q(flag + ".running")); sleep 300; fi
      exec \(q(TestSupport.tagdataBinary)) "$@"

      """.utf8).write(to: URL(fileURLWithPath: wrapper))
    chmod(wrapper, 0o755)
    let second = ["--config", config, "--out", killed, "--partitions", "4", "--tagdata", wrapper, "--poll", "0.5", "--timeout", "300"]
    let driver = "touch \(q(flag))\n" + Self.call("b1", second)
      + """
      for i in $(seq 1 240); do [[ -e \(q(flag + ".running")) ]] && break; sleep 0.5; done
      task=$(squeue -h -r -n tagdata-ingest -o %i | grep '_1$' | head -n 1)
      state=$(squeue -h -r -j "$task" -o %T)
      echo "$task $state" > killed.txt
      scancel "$task"
      rm -f \(q(flag))

      """ + Self.call("b2", second + ["--wait"])
    try Self.onCluster(driver, in: dir)
    let b1 = try Self.summary(dir, "b1")
    #expect(b1.status == 0, "\(b1.stderr)")
    let ingestJob = b1.summary?.submitted.first?.job ?? "?"
    let killedTask = (try? String(contentsOf: dir.appendingPathComponent("killed.txt"), encoding: .utf8)) ?? ""
    #expect(killedTask == "\(ingestJob)_1 RUNNING\n", "the task killed: \(killedTask)")
    let b2 = try Self.summary(dir, "b2")
    #expect(b2.status == 0 && b2.summary?.succeeded == true, "rerun after the kill: \(b2.stderr)")
    #expect(b2.summary?.submitted.first?.name == "ingest")
    #expect(b2.summary?.submitted.first?.array == "1", "resubmitted: \(b2.summary.map { "\($0.submitted.map { "\($0.name) \($0.array ?? "")" })" } ?? b2.stderr)")
    #expect(b2.summary?.cancelled.contains(b1.summary?.submitted.dropFirst().first?.job ?? "-") == true,
            "the merge after the killed task is cancelled: \(b2.summary?.cancelled ?? [])")
    try Self.expectSameResult(killed, reference, "after a killed task")
  }
}
