import Foundation
import TagdataBio

#if canImport(Glibc)
import Glibc
#endif

/// Submits a ``SlurmPlan`` with `sbatch --parsable`, each job `--dependency=afterok` on the one
/// before it, only the work that is not done (``SlurmWork``), and records what it submitted in
/// `WORK/slurm-state.json`. Jobs of the last submission that are still pending or running are
/// never submitted twice: without `waitForEarlier` the submission stops
/// (``SlurmError/stillQueued(jobs:work:)``), with it the earlier jobs are waited for first.
/// A job left pending because its dependency failed (`DependencyNeverSatisfied`) can never run:
/// it is cancelled, and its work submitted again.
public final class SlurmSubmitter {
  public let plan: SlurmPlan
  /// The Slurm commands (absolute paths).
  public var sbatch: String
  public var squeue: String
  public var scancel: String
  /// Seconds between two looks at the queue while waiting.
  public var pollInterval: Double = 5
  /// Seconds a Slurm client command may take.
  public var commandTimeout: Double = 120
  /// Progress lines (what was submitted, waited for, cancelled).
  public var onMessage: ((String) -> Void)?

  public init(plan: SlurmPlan, sbatch: String, squeue: String, scancel: String) {
    self.plan = plan
    self.sbatch = sbatch
    self.squeue = squeue
    self.scancel = scancel
  }

  // MARK: State

  public struct SubmittedJob: Codable, Sendable, Equatable {
    /// The plan's job id (`ingest`, `catalog-merge`, `describe`, `labels-merge`, `build:NAME`, `build-merge:NAME`).
    public var name: String
    /// Slurm's job id.
    public var job: String
    /// The array spec (`0-3`, `1,3`), nil for a single job.
    public var array: String?
    public var dependency: String?
    public var script: String
  }

  public struct Submission: Codable, Sendable {
    public var time: String
    public var jobs: [SubmittedJob]
  }

  public struct State: Codable, Sendable {
    public var version = 1
    /// SHA-256 of the configuration file, and the partitions.
    public var config: String
    public var partitions: Int
    /// The keys of the plan's jobs when last submitted.
    public var keys: [String: String] = [:]
    /// Every submission, the last one last.
    public var submissions: [Submission] = []
  }

  public func loadState() -> State? {
    guard let data = FileManager.default.contents(atPath: plan.statePath) else { return nil }
    return try? JSONDecoder().decode(State.self, from: data)
  }

  func save(_ state: State) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    do {
      try writeAtomically(try encoder.encode(state) + Data([0x0A]), to: plan.statePath)
    } catch {
      throw SlurmError.output("\(plan.statePath): cannot be written (\(error))")
    }
  }

  var configHash: String {
    let bytes = FileManager.default.contents(atPath: plan.config.file) ?? Data()
    return SequenceDigest.hex(SequenceDigest.sha256(Array(bytes)))
  }

  // MARK: Submitting

  /// What one call did.
  public struct Summary: Codable, Sendable {
    public var work: String
    public var output: String
    public var partitions: Int
    /// Nothing needed to run: every job's markers are current.
    public var complete: Bool
    public var submitted: [SubmittedJob]
    /// Jobs left out because they are done.
    public var done: [String]
    /// Earlier jobs cancelled because their dependency failed.
    public var cancelled: [String]
    /// With waiting: whether every job succeeded; the tasks that did not (`ingest[2]`, `catalog-merge`).
    public var succeeded: Bool?
    public var failed: [String]?
    /// With waiting: the error logs of the failed tasks that ran (`WORK/logs/NAME-JOB_TASK.err`).
    public var logs: [String]?
  }

  /// The sbatch arguments of a job (its script's path last), given the dependency.
  public func sbatchArguments(script: String, dependency: String?) -> [String] {
    ["--parsable"] + (dependency.map { ["--dependency=afterok:" + $0] } ?? []) + [script]
  }

  /// Every script of the work and its sbatch command line, as a dry run prints them (the
  /// dependency as `$JOB_<name>`, the job id the earlier sbatch printed).
  public func dryRun(_ work: SlurmWork) -> String {
    var out = ""
    var variables: [String: String] = [:]
    for item in work.items {
      let job = plan.jobs.first { $0.id == item.id }!
      let array = job.isArray ? SlurmWork.arraySpec(item.tasks) : nil
      let path = plan.scriptsFolder + "/" + job.scriptName
      out += "# ---- \(path)\n" + job.script(array) + "\n"
      let variable = "JOB_" + SlurmPlan.safeName(job.id).uppercased().replacingOccurrences(of: "-", with: "_")
        .replacingOccurrences(of: ".", with: "_")
      let dependency = job.after.flatMap { variables[$0] }.map { " --dependency=afterok:\"$" + $0 + "\"" } ?? ""
      variables[job.id] = variable
      out += "\(variable)=$(sbatch --parsable\(dependency) \(SlurmPlan.quote(path)))\n\n"
    }
    return out
  }

  /// Submits what is not done. With `waitForEarlier`, jobs of the last submission still in the
  /// queue are waited for (up to `timeout` seconds) instead of stopping.
  public func submit(waitForEarlier: Bool, timeout: Double) throws -> Summary {
    try lock()
    var state = loadState() ?? State(config: configHash, partitions: plan.partitions)
    var cancelled: [String] = []
    if let last = state.submissions.last, !last.jobs.isEmpty {
      let ids = Set(last.jobs.map(\.job))
      let deadline = Date().addingTimeInterval(timeout)
      var lastMessage = ""
      while true {
        var queued = try patientQueue(ids, deadline: deadline)
        let gone = try cancelNeverRunning(queued, chain: last.jobs)
        cancelled += gone
        queued.removeAll { gone.contains($0.job) }
        if queued.isEmpty { break }
        let names = Array(Set(queued.map(\.job))).sorted()
        if !waitForEarlier { throw SlurmError.stillQueued(jobs: names, work: plan.work) }
        if Date() >= deadline { throw SlurmError.waitTimeout(seconds: Int(timeout), jobs: names) }
        let message = "waiting for the jobs of the last submission: \(names.joined(separator: ", "))"
        if message != lastMessage { onMessage?(message) }
        lastMessage = message
        Thread.sleep(forTimeInterval: pollInterval)
      }
    }
    let work = SlurmWork.pending(plan)
    var summary = Summary(work: plan.work, output: plan.output, partitions: plan.partitions, complete: work.isEmpty,
                          submitted: [], done: work.complete, cancelled: cancelled)
    if work.isEmpty { return summary }
    let fm = FileManager.default
    do {
      for folder in [plan.scriptsFolder, plan.logsFolder, plan.work + "/ingest", plan.work + "/labels"]
        + plan.config.builds.map({ plan.work + "/builds/" + $0.name }) + plan.config.tokenize.map({ plan.work + "/tokens/" + $0.name })
      {
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
      }
    } catch {
      throw SlurmError.output("\(plan.work): cannot be created (\(error))")
    }
    state.config = configHash
    state.partitions = plan.partitions
    state.submissions.append(Submission(time: isoNow(), jobs: []))
    var ids: [String: String] = [:]
    for item in work.items {
      let job = plan.jobs.first { $0.id == item.id }!
      let array = job.isArray ? SlurmWork.arraySpec(item.tasks) : nil
      let path = plan.scriptsFolder + "/" + job.scriptName
      do {
        try writeAtomically(Data(job.script(array).utf8), to: path)
        chmod(path, 0o755)
      } catch {
        throw SlurmError.output("\(path): cannot be written (\(error))")
      }
      let dependency = job.after.flatMap { ids[$0] }
      let result = try ProcessRunner.run(sbatch, sbatchArguments(script: path, dependency: dependency), timeout: commandTimeout)
      let firstLine = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
      let id = String(firstLine.split(separator: ";").first ?? "")
      guard result.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
        let done = state.submissions[state.submissions.count - 1].jobs.map { "\($0.name) as job \($0.job)" }
        try save(state)
        throw SlurmError.unavailable(
          "sbatch \(path) failed (status \(result.status)): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
            + (firstLine.isEmpty ? "" : " [output: \(firstLine)]")
            + (done.isEmpty ? "" : "; submitted before it: \(done.joined(separator: ", ")) (see \(plan.statePath))"))
      }
      ids[job.id] = id
      let submitted = SubmittedJob(name: job.id, job: id, array: array, dependency: dependency, script: path)
      state.submissions[state.submissions.count - 1].jobs.append(submitted)
      state.keys[job.id] = job.key
      summary.submitted.append(submitted)
      try save(state)
      onMessage?("\(job.id): job \(id)" + (array.map { " array \($0)" } ?? "") + (dependency.map { " after \($0)" } ?? ""))
    }
    return summary
  }

  /// The lock on the work folder (`WORK/slurm.lock`), held until this submitter is gone: two
  /// `tagdata slurm` into one work folder at once would submit the same work twice.
  var lockDescriptor: Int32 = -1

  deinit {
    if lockDescriptor >= 0 { close(lockDescriptor) }
  }

  func lock() throws {
    if lockDescriptor >= 0 { return }
    let path = plan.work + "/slurm.lock"
    do {
      try FileManager.default.createDirectory(atPath: plan.work, withIntermediateDirectories: true)
    } catch {
      throw SlurmError.output("\(plan.work): cannot be created (\(error))")
    }
    let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw SlurmError.output("\(path): cannot be opened (\(String(cString: strerror(errno))))") }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      close(fd)
      throw SlurmError.busy(plan.work)
    }
    lockDescriptor = fd
  }

  // MARK: Waiting

  /// Waits until no job of `summary` is pending or running (cancelling jobs whose dependency
  /// failed), then reads the markers: `succeeded` and the tasks that failed.
  public func wait(_ summary: inout Summary, timeout: Double) throws {
    let ids = Set(summary.submitted.map(\.job))
    let deadline = Date().addingTimeInterval(timeout)
    var lastMessage = ""
    while !ids.isEmpty {
      var active = try patientQueue(ids, deadline: deadline)
      let gone = try cancelNeverRunning(active, chain: summary.submitted)
      summary.cancelled += gone
      active.removeAll { gone.contains($0.job) }
      if active.isEmpty { break }
      if Date() >= deadline { throw SlurmError.waitTimeout(seconds: Int(timeout), jobs: Array(Set(active.map(\.job))).sorted()) }
      let message = active.map { "\($0.task) \($0.state)" }.joined(separator: ", ")
      if message != lastMessage { onMessage?("waiting: " + message) }
      lastMessage = message
      Thread.sleep(forTimeInterval: pollInterval)
    }
    var failed: [String] = [], logs: [String] = []
    for job in plan.jobs {
      let submitted = summary.submitted.last { $0.name == job.id }
      for k in job.markers.indices where !SlurmWork.isDone(marker: job.markers[k], key: job.key, output: job.outputs[k]) {
        failed.append(job.isArray ? "\(job.id)[\(k)]" : job.id)
        if let submitted {
          let log = plan.logsFolder + "/" + String(job.scriptName.dropLast(3)) + "-" + submitted.job + (job.isArray ? "_\(k)" : "") + ".err"
          if FileManager.default.fileExists(atPath: log) { logs.append(log) }
        }
      }
    }
    summary.failed = failed
    summary.logs = logs
    summary.succeeded = failed.isEmpty
  }

  // MARK: The queue

  public struct Queued: Sendable, Equatable {
    /// The job id (an array task's array job id).
    public var job: String
    /// As squeue prints it (`12_3`, `12_[4-7]`, `13`).
    public var task: String
    public var state: String
    public var reason: String
  }

  /// The jobs among `ids` that squeue lists (pending, running, completing, ...).
  public func queue(_ ids: Set<String>) throws -> [Queued] {
    let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? String(getuid())
    let result = try ProcessRunner.run(squeue, ["--noheader", "--array", "--user=" + user, "--format=%i|%T|%r"], timeout: commandTimeout)
    guard result.status == 0 else {
      throw SlurmError.unavailable("squeue failed (status \(result.status)): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    var out: [Queued] = []
    for line in result.stdout.split(separator: "\n") {
      let f = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      guard f.count >= 3 else { continue }
      let job = String(f[0].prefix { $0 != "_" })
      if ids.contains(job) { out.append(Queued(job: job, task: f[0], state: f[1], reason: f[2])) }
    }
    return out
  }

  /// ``queue(_:)``, asked again (each poll interval, up to 5 times and never past the deadline)
  /// when squeue fails: a busy controller times out now and then.
  func patientQueue(_ ids: Set<String>, deadline: Date) throws -> [Queued] {
    var failures = 0
    while true {
      do {
        return try queue(ids)
      } catch let error as SlurmError {
        failures += 1
        if failures >= 5 || Date() >= deadline { throw error }
        onMessage?("\(error) (asking again)")
        Thread.sleep(forTimeInterval: pollInterval)
      }
    }
  }

  /// Cancels pending jobs whose dependency failed (Slurm keeps them pending for ever), and the
  /// jobs of the chain after them (still waiting for them, they can never run either).
  func cancelNeverRunning(_ queued: [Queued], chain: [SubmittedJob]) throws -> [String] {
    var never = Set(queued.filter { $0.state == "PENDING" && $0.reason == "DependencyNeverSatisfied" }.map(\.job))
    if never.isEmpty { return [] }
    for job in chain where job.dependency.map(never.contains) == true { never.insert(job.job) }
    let listed = Set(queued.map(\.job))
    let stuck = never.filter(listed.contains).sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
    let result = try ProcessRunner.run(scancel, stuck, timeout: commandTimeout)
    guard result.status == 0 else {
      throw SlurmError.unavailable("scancel \(stuck.joined(separator: " ")) failed: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    onMessage?("cancelled \(stuck.joined(separator: ", ")): a job before it failed, so it could never run")
    return stuck
  }

  func isoNow() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date())
  }

  /// An executable by name on PATH (or the path itself when it has a `/`).
  public static func find(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") where !dir.isEmpty {
      let candidate = String(dir) + "/" + name
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}


/// Runs a program to its end with a time limit, its standard output and error collected.
enum ProcessRunner {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ executable: String, _ arguments: [String], timeout: Double) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    do {
      try p.run()
    } catch {
      throw SlurmError.unavailable("\(executable) cannot be run: \(error)")
    }
    let collected = Collected()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      collected.setOut(out.fileHandleForReading.readDataToEndOfFile())
      group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      collected.setErr(err.fileHandleForReading.readDataToEndOfFile())
      group.leave()
    }
    let pid = p.processIdentifier
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if p.isRunning {
      kill(pid, SIGKILL)
      p.waitUntilExit()
      group.wait()
      throw SlurmError.unavailable("\(executable) \(arguments.joined(separator: " ")): no answer in \(Int(timeout)) s")
    }
    p.waitUntilExit()
    group.wait()
    return Result(status: p.terminationStatus, stdout: String(decoding: collected.out, as: UTF8.self),
                  stderr: String(decoding: collected.err, as: UTF8.self))
  }

  final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var _out = Data(), _err = Data()
    func setOut(_ d: Data) { lock.lock(); _out = d; lock.unlock() }
    func setErr(_ d: Data) { lock.lock(); _err = d; lock.unlock() }
    var out: Data { lock.lock(); defer { lock.unlock() }; return _out }
    var err: Data { lock.lock(); defer { lock.unlock() }; return _err }
  }
}
