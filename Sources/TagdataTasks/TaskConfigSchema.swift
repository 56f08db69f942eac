/// `Schemas/task-config.schema.json`, built in (a test checks that the two are the same text):
/// the binary checks configurations without the repository beside it.
let taskConfigSchemaText = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://tagdata.invalid/schemas/task-config.schema.json",
  "title": "tagdata task configuration",
  "description": "What tagdata build --config FILE builds (YAML or JSON): tags, tasks, split and seed. tagdata build --preset tag-llm --print-config prints Tag-LLM's eight tasks in this form.",
  "type": "object",
  "additionalProperties": false,
  "required": ["tags", "tasks"],
  "properties": {
    "seed": {"type": "integer", "minimum": 0, "description": "Seed of the splits (default 42)"},
    "tokens_per_tag": {"type": "integer", "minimum": 1, "maximum": 1024, "description": "Virtual tokens p of a tag that does not give its own (default 10, Tag-LLM's num_token_per_tag)"},
    "ablation": {"enum": ["both", "no-domain", "no-function", "none"], "description": "Which tags the prompts of stages 2 and 3 keep (default both)"},
    "max_length": {"type": ["integer", "null"], "minimum": 1, "description": "Default filter of the tasks that give none: SMILES and protein inputs longer than this many characters give no example; null: no limit (default 512)"},
    "split": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "method": {"enum": ["random", "scaffold", "cold-drug", "cold-target", "temporal"]},
        "train": {"type": "number", "minimum": 0, "maximum": 1},
        "valid": {"type": "number", "minimum": 0, "maximum": 1},
        "temporal": {
          "type": "object",
          "additionalProperties": false,
          "required": ["train_valid_years", "test_years"],
          "properties": {
            "train_valid_years": {"$ref": "#/$defs/years"},
            "test_years": {"$ref": "#/$defs/years"},
            "valid_years": {"$ref": "#/$defs/years"},
            "valid_fraction": {"type": "number", "minimum": 0, "maximum": 1}
          }
        }
      }
    },
    "tags": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "kind"],
        "properties": {
          "name": {"$ref": "#/$defs/name"},
          "kind": {"enum": ["domain", "function"]},
          "tokens": {"type": "integer", "minimum": 1, "maximum": 1024},
          "language": {"type": "boolean", "description": "A language tag: what <SRC> and <TGT> of a template become"}
        }
      }
    },
    "tasks": {
      "type": "array",
      "minItems": 1,
      "maxItems": 256,
      "items": {"$ref": "#/$defs/task"}
    }
  },
  "$defs": {
    "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.+-]{0,63}$"},
    "years": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "integer"}], "minItems": 2, "maxItems": 2,
              "description": "A closed range of years: [first, last]"},
    "field": {"type": "string", "minLength": 1, "maxLength": 200},
    "task": {
      "type": "object",
      "additionalProperties": false,
      "required": ["name", "stage", "from", "inputs", "template", "output"],
      "properties": {
        "name": {"$ref": "#/$defs/name"},
        "stage": {"type": "integer", "minimum": 1, "maximum": 3},
        "from": {"enum": ["molecules", "proteins", "table", "measurements", "text"],
                 "description": "molecules (field smiles), proteins (field sequence), table (its columns), measurements (aggregated BindingDB values: fields smiles, sequence, target), text (a plain text file: field text)"},
        "table": {"$ref": "#/$defs/field", "description": "from: table — the ingested table's mapping name (tdc-dti, tdc-drugcomb, parallel-text, ...)"},
        "file": {"type": "string", "minLength": 1, "description": "from: text — the text file, one example per non-blank line"},
        "language": {"$ref": "#/$defs/name", "description": "from: text — the language tag of the file's lines"},
        "measurement": {
          "type": "object",
          "additionalProperties": false,
          "required": ["kind"],
          "properties": {
            "kind": {"enum": ["Ki", "IC50", "Kd", "EC50"]},
            "aggregate": {"enum": ["mean", "median", "max_affinity"]},
            "scale": {"enum": ["raw", "pX"]},
            "censored": {"enum": ["exclude", "keep"]}
          }
        },
        "inputs": {
          "type": "array",
          "minItems": 1,
          "maxItems": 16,
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["field"],
            "properties": {
              "field": {"$ref": "#/$defs/field"},
              "kind": {"enum": ["text", "smiles", "protein"], "description": "The segment kind (default: from the field)"},
              "spaced": {"type": "boolean", "description": "Residues joined by one space (Tag-LLM's stage-1 proteins)"}
            }
          }
        },
        "template": {"type": "string", "minLength": 1, "maxLength": 10000,
                     "description": "The prompt: <input> or <input N> for inputs, <output> for the label, <TAG> for a declared tag, <SRC>/<TGT> for the source and target language tags"},
        "output": {"enum": ["none", "regression", "generation"]},
        "label": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "descriptor": {"$ref": "#/$defs/field", "description": "A descriptor of the molecule or protein (tagdata describe --list)"},
            "column": {"$ref": "#/$defs/field", "description": "A column of the table"},
            "measurement": {"const": true, "description": "The aggregated measurement (from: measurements)"},
            "scale": {"type": "number", "description": "The label is multiplied by this (Tag-LLM's DC: 0.1; not 0)"}
          },
          "oneOf": [
            {"required": ["descriptor"]},
            {"required": ["column"]},
            {"required": ["measurement"]}
          ]
        },
        "max_length": {"type": ["integer", "null"], "minimum": 1},
        "source_language": {"$ref": "#/$defs/field", "description": "The field whose value is the <SRC> tag"},
        "target_language": {"$ref": "#/$defs/field", "description": "The field whose value is the <TGT> tag"},
        "mirror": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/$defs/field"}, "minItems": 2, "maxItems": 2},
                   "description": "Pairs of fields exchanged to make a second example of each row (both translation directions)"},
        "year": {"$ref": "#/$defs/field", "description": "The field holding the year (temporal split)"}
      },
      "allOf": [
        {"if": {"properties": {"from": {"const": "table"}}, "required": ["from"]}, "then": {"required": ["table"]}},
        {"if": {"properties": {"from": {"const": "text"}}, "required": ["from"]}, "then": {"required": ["file", "language"]}},
        {"if": {"properties": {"from": {"const": "measurements"}}, "required": ["from"]}, "then": {"required": ["measurement"]}}
      ],
      "$comment": "table, mirror, file, language and measurement on another kind of task are refused by tagdata's own checks, with their key"
    }
  }
}
"""#
