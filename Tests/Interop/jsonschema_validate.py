"""jsonschema's verdict on instances, for tagdata's schema validator interop test.

Usage: jsonschema_validate.py SCHEMA INSTANCES
  SCHEMA: a JSON Schema file (draft 2020-12); checked with Draft202012Validator.check_schema.
  INSTANCES: JSON Lines, one instance per line.
Prints one line per instance: 1 (valid) or 0 (invalid), a tab, and the first error's message.
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
