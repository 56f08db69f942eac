/// A training run: the model, where its base comes from, and the stages to run in order
/// (`Schemas/train-config.schema.json`).
public struct TrainConfig: Codable, Sendable {
  public struct ModelShape: Codable, Sendable {
    /// Base vocabulary (default: the byte tokenizer's 260).
    public var vocabularySize: Int?
    public var dimension: Int
    public var layers: Int
    public var heads: Int
    public var feedForward: Int
  }

  public struct TagSpec: Codable, Sendable {
    public var name: String
    /// Virtual tokens (Tag-LLM's p).
    public var rows: Int
  }

  public enum Kind: String, Codable, Sendable {
    /// Stage 0: train the base model itself.
    case base
    /// Stage 1: base frozen; learn domain tags (and new vocabulary rows, if any).
    case domain
    /// Stages 2 and 3: base frozen; learn function tags and regression heads.
    case function
  }

  public struct DataSpec: Codable, Sendable {
    /// A token dataset directory (relative to the config file): version 1 (one set, the last
    /// `validationFraction` for validation) or version 2 (`tagdata export --tokenized`: the
    /// build's `train` split trains, its `valid` split validates), or
    public var path: String?
    /// With a version-2 dataset: the tasks this stage trains on (default: all of them).
    public var tasks: [String]?
    /// a dataset built from the shipped corpora: `uniprot-text` (UniProt free text),
    /// `protein-sequences` (domain-tagged sequences), `protein-hydrophobicity` (domain and
    /// function tags, regression on the fraction of hydrophobic residues), `protein-length`
    /// (a second function tag: log10 of the length / 4).
    public var builtin: String?
    /// Examples held out for validation (the last ones).
    public var validationFraction: Double?
  }

  public struct OptimizerSpec: Codable, Sendable {
    public var weightDecay: Float?
    public var tagWeightDecay: Float?
    public var clipNorm: Float?
    public var beta1: Float?
    public var beta2: Float?
    public var epsilon: Float?
  }

  public struct Stage: Codable, Sendable {
    public var name: String
    public var kind: Kind
    public var data: DataSpec
    public var steps: Int
    public var batch: Int
    public var length: Int
    public var learningRate: Float
    public var warmup: Int?
    public var accumulate: Int?
    public var validateEvery: Int?
    public var checkpointEvery: Int?
    public var regressionScale: Float?
    /// Tags this stage adds and learns.
    public var tags: [TagSpec]?
    /// Regression heads this stage adds and learns (one per numeric function tag).
    public var heads: [String]?
    /// Whether tags learned in earlier stages keep learning here (default false: frozen).
    public var trainEarlierTags: Bool?
    /// Train this stage's heads on standardized targets (mean 0 and standard deviation 1 over
    /// the stage's training examples of each head); the saved head gives values in the
    /// targets' own units again (the scale and shift are folded into its weights). Default
    /// false, as Tag-LLM (which regresses raw values, e.g. BA in nM).
    public var standardizeTargets: Bool?
    /// AdamW's settings for this stage (defaults: decay 0.01 on base matrices, none on tags
    /// and heads, clipping at 1, betas 0.9 and 0.999, epsilon 1e-8).
    public var optimizer: OptimizerSpec?
    /// How this stage's new tags and heads start (default `tag-llm`: the mean base embedding
    /// times Tag-LLM's norm ratio 7.8; heads the mean embedding).
    public var tagInitialization: Model.TagInitialization?
    /// Tag-LLM's `autoregressive_attn_mask: false` (its stage-2/3 regression configs): each
    /// domain tag and its input (the dataset's spans) attend to each other whole; the rest stays
    /// causal. Default false.
    public var bidirectionalInputs: Bool?
    /// Grow the base vocabulary to this size in a domain stage (a domain tokenizer added
    /// tokens): the new rows of the embedding and the LM head are learned, the old ones frozen.
    public var vocabularySize: Int?
  }

  public var seed: UInt64
  /// Worker threads: each batch is cut into this many shards, computed in parallel (default 1).
  /// Results are bit-reproducible for a given value.
  public var threads: Int?
  public var model: ModelShape?
  /// A model directory (ours, or Hugging Face LLaMA layout) to start from instead of `model`.
  public var base: String?
  /// Where the shipped corpora are, for built-in datasets (default: `../Corpora` from the
  /// config file).
  public var corpora: String?
  public var stages: [Stage]
  /// Where the config was read from (for error messages); not part of the config.
  public var origin: Origin?

  enum CodingKeys: String, CodingKey {
    case seed, threads, model, base, corpora, stages
  }

  public init(seed: UInt64, threads: Int? = nil, model: ModelShape? = nil, base: String? = nil, corpora: String? = nil,
              stages: [Stage])
  {
    self.seed = seed
    self.threads = threads
    self.model = model
    self.base = base
    self.corpora = corpora
    self.stages = stages
  }
}
