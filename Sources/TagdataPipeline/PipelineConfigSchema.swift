/// `Schemas/pipeline-config.schema.json`, built in (a test checks that the two are the same text):
/// the binary checks configurations without the repository beside it.
let pipelineConfigSchemaText = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://tagdata.invalid/schemas/pipeline-config.schema.json",
  "title": "tagdata pipeline configuration",
  "description": "What tagdata run --config FILE runs (YAML or JSON): ingest, describe, builds, tokenized exports, training runs, evaluations and comparisons, in that order, into one output folder. Paths are relative to the configuration's folder; names are the folders the steps write (OUT/builds/NAME, OUT/tokens/NAME, OUT/train/NAME, OUT/eval/NAME, OUT/compare/NAME).",
  "type": "object",
  "additionalProperties": false,
  "required": ["ingest"],
  "properties": {
    "catalog": {"type": "string", "minLength": 1, "description": "The catalog's file name inside the output folder (default catalog.sqlite)"},
    "ingest": {
      "type": "array",
      "minItems": 1,
      "description": "Inputs of the catalog, in order: dumps (the format is recognised from the content) or tables read with a preset or a column mapping",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["files"],
        "properties": {
          "files": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}, "description": "Paths or glob patterns (*, ?, [...]); each pattern must match a file"},
          "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Patterns of files to leave out"},
          "preset": {"enum": ["tdc-dti", "tdc-dti-patent", "tdc-drugcomb", "parallel-text"], "description": "Read the files as tables in this layout"},
          "columns": {"type": "string", "minLength": 1, "description": "Read the files as tables with these columns: HEADER=KIND,..."}
        }
      }
    },
    "describe": {
      "type": "array",
      "items": {"type": "string", "minLength": 1},
      "description": "Descriptors to store as labels of the catalog's molecules and proteins (tagdata describe --list)"
    },
    "builds": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
          "name": {"$ref": "#/$defs/name"},
          "preset": {"enum": ["tag-llm"], "description": "The task preset (default tag-llm, unless config is given)"},
          "config": {"type": "string", "minLength": 1, "description": "A task configuration file (Schemas/task-config.schema.json)"},
          "tasks": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}, "description": "Only these tasks"},
          "split": {"enum": ["random", "scaffold", "cold-drug", "cold-target", "temporal"]},
          "seed": {"type": "integer", "minimum": 0},
          "ablation": {"enum": ["both", "no-domain", "no-function", "none"]},
          "shards": {"type": "integer", "minimum": 1, "maximum": 900},
          "text": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}, "description": "Stage-1 Language tasks from text files: LANG: path"}
        }
      }
    },
    "tokenize": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "build"],
        "properties": {
          "name": {"$ref": "#/$defs/name"},
          "build": {"$ref": "#/$defs/name"},
          "tokenizer": {"type": "string", "minLength": 1, "description": "A base model's tokenizer.json (or its folder); default: the byte tokenizer"},
          "smiles_tokens": {"type": "boolean"},
          "smiles_min_count": {"type": "integer", "minimum": 1},
          "residue_tokens": {"type": "boolean"},
          "regression_as_text": {"type": "boolean", "description": "Regression records as generation records of their label string (Tag-LLM's number as text, against the regression head)"}
        }
      }
    },
    "train": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "config"],
        "properties": {
          "name": {"$ref": "#/$defs/name"},
          "config": {"type": "string", "minLength": 1, "description": "A training configuration (Schemas/train-config.schema.json); its stages that read a token dataset by path read the one named here"},
          "dataset": {"$ref": "#/$defs/name", "description": "The tokenized export every stage with a data path reads"}
        }
      }
    },
    "eval": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "train", "dataset"],
        "properties": {
          "name": {"$ref": "#/$defs/name"},
          "train": {"$ref": "#/$defs/name"},
          "stage": {"type": "string", "minLength": 1, "description": "The stage whose model is evaluated (default: the last)"},
          "dataset": {"$ref": "#/$defs/name"},
          "build": {"$ref": "#/$defs/name", "description": "The build the dataset came from: the nearest-neighbour baseline's inputs"},
          "split": {"enum": ["train", "valid", "test"]},
          "tasks": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
          "length": {"type": "integer", "minimum": 2},
          "batch": {"type": "integer", "minimum": 1},
          "resamples": {"type": "integer", "minimum": 0},
          "seed": {"type": "integer", "minimum": 0}
        }
      }
    },
    "compare": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "reports"],
        "properties": {
          "name": {"$ref": "#/$defs/name"},
          "reports": {"type": "object", "minProperties": 1, "additionalProperties": {"$ref": "#/$defs/name"}, "description": "LABEL: the eval step whose report is shown under that label"}
        }
      }
    }
  },
  "$defs": {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$", "maxLength": 64}
  }
}
"""#
