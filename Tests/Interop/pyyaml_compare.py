"""PyYAML's reading of YAML documents, compared with tagdata's YAMLConfig, for the interop test.

Usage: pyyaml_compare.py DOCS
  DOCS: JSON Lines, each {"yaml": text, "ok": bool, "tree": value, "places": [...], "error": text}
  as tagdata read the text: its tree (JSON) and "path@line:column" of every value, or its error.
PyYAML (YAML 1.1; the test writes only scalars both versions read alike) composes and constructs
each text. Prints one line per document: "same", "both refuse", or what differs.
"""
import json
import math
import sys

import yaml


def places(node, path, out):
    out.append(f"{path or '$'}@{node.start_mark.line + 1}:{node.start_mark.column + 1}")
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value
            places(value, k if not path else f"{path}.{k}", out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            places(value, f"{path}[{i}]", out)


def same(a, b):
    """Equal values, booleans apart from numbers, 1 equal to 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (math.isclose(a, b, rel_tol=1e-15))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def main(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            text = doc["yaml"]
            try:
                loader = yaml.SafeLoader(text)
                try:
                    node = loader.get_single_node()
                    data = loader.construct_document(node) if node is not None else None
                finally:
                    loader.dispose()
                theirs_error = None
            except yaml.YAMLError as e:
                theirs_error = " ".join(str(e).split())[:200]
            if not doc["ok"]:
                if theirs_error is not None:
                    out.append("both refuse")
                else:
                    out.append(f"only tagdata refuses: {doc['error']}")
                continue
            if theirs_error is not None:
                out.append(f"only PyYAML refuses: {theirs_error}")
                continue
            ours = []
            places(node, "", ours)
            if not same(data, doc["tree"]):
                out.append(f"values differ: PyYAML {json.dumps(data, ensure_ascii=False)[:300]}")
            elif ours != doc["places"]:
                diffs = [f"{a} vs {b}" for a, b in zip(ours, doc["places"]) if a != b][:3]
                out.append(f"places differ (PyYAML vs tagdata): {'; '.join(diffs) or (len(ours), len(doc['places']))}")
            else:
                out.append("same")
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main(sys.argv[1])
