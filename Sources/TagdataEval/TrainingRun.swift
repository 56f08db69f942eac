import Foundation

/// What a `tagdata train` output directory says about its training, for the evaluation report:
/// per stage the last step's training loss, the last validation loss and the stage's mean
/// training loss, read from `log.jsonl` (one JSON object per line: step records with `loss`,
/// validation records with `eval_loss`, an end-of-stage record with `train_loss`).
public enum TrainingRun {
  /// The losses of one stage, as its last records give them.
  public struct StageLoss: Codable, Sendable, Equatable {
    public var stage: String
    /// The last optimizer step logged.
    public var step: Int
    /// The training loss of the last step logged.
    public var trainingLoss: Double?
    /// The last validation loss and the step it followed.
    public var validationLoss: Double?
    public var validationStep: Int?
    /// The stage's mean training loss (its end-of-stage record; absent while it runs).
    public var meanTrainingLoss: Double?
  }

  public struct RunError: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  struct Line: Decodable {
    var stage: String
    var step: Int?
    var loss: Double?
    var eval_loss: Double?
    var train_loss: Double?
  }

  /// The stages of `log.jsonl` in the order they first appear; of a stage's records the later
  /// win (a resumed stage logs its steps again). Errors name the file and line.
  public static func stageLosses(log path: String) throws -> [StageLoss] {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw RunError(description: "\(path): cannot read the training log (\(error.localizedDescription))")
    }
    var order: [String] = []
    var stages: [String: StageLoss] = [:]
    let decoder = JSONDecoder()
    for (n, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
      let l: Line
      do {
        l = try decoder.decode(Line.self, from: Data(line))
      } catch {
        throw RunError(description: "\(path):\(n + 1): not a training log record (\(error))")
      }
      if stages[l.stage] == nil {
        order.append(l.stage)
        stages[l.stage] = StageLoss(stage: l.stage, step: 0)
      }
      var s = stages[l.stage]!
      if let step = l.step { s.step = max(s.step, step) }
      if let v = l.eval_loss {
        s.validationLoss = v
        s.validationStep = l.step
      } else if let v = l.train_loss {
        s.meanTrainingLoss = v
      } else if let v = l.loss {
        s.trainingLoss = v
      }
      stages[l.stage] = s
    }
    return order.map { stages[$0]! }
  }
}
