"""jsonschema's verdict on instances, for tagdata's schema validator interop test.

Usage: jsonschema_validate.py SCHEMA INSTANCES
  SCHEMA: a JSON Schema file (draft 2020-12); checked with Draft202012Validator.check_schema.
  INSTANCES: JSON Lines, one instance per line.
       jsonschema_validate.py --pairs PAIRS
  PAIRS: JSON Lines, each [schema, instance].
Prints one line per instance: 1 (valid) or 0 (invalid), a tab, and the first error's message;
for a schema check_schema refuses, "S" and its message.
"""
import json
import sys

from jsonschema import Draft202012Validator


def main(schema_path, instances_path):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    out = []
    with open(instances_path, encoding="utf-8") as f:
        for line in f:
            instance = json.loads(line)
            error = next(iter(validator.iter_errors(instance)), None)
            if error is None:
                out.append("1\t")
            else:
                out.append("0\t" + error.message.replace("\n", " ").replace("\t", " ")[:200])
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


def pairs(path):
    out = []
    validators = {}  # schema text -> validator, or the refusal's message
    with open(path, encoding="utf-8") as f:
        for line in f:
            schema, instance = json.loads(line)
            key = json.dumps(schema, sort_keys=True)
            if key not in validators:
                try:
                    Draft202012Validator.check_schema(schema)
                    validators[key] = Draft202012Validator(schema)
                except Exception as e:  # noqa: BLE001 - any refusal is reported
                    validators[key] = str(e).split("\n")[0][:200]
            validator = validators[key]
            if isinstance(validator, str):
                out.append("S\t" + validator)
                continue
            error = next(iter(validator.iter_errors(instance)), None)
            if error is None:
                out.append("1\t")
            else:
                out.append("0\t" + error.message.replace("\n", " ").replace("\t", " ")[:200])
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    if sys.argv[1] == "--pairs":
        pairs(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
