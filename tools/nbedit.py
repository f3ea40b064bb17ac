"""Edit notebook sources by exact replacement (development aid; never touches outputs)."""

import json
import sys


class Notebook:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.nb = json.load(f)

    def src(self, i):
        return "".join(self.nb["cells"][i]["source"])

    def _set(self, i, text):
        lines = text.splitlines(keepends=True)
        self.nb["cells"][i]["source"] = lines

    def find(self, needle):
        hits = [i for i, c in enumerate(self.nb["cells"]) if needle in "".join(c["source"])]
        if len(hits) != 1:
            sys.exit(f"{self.path}: {needle!r} found in cells {hits}")
        return hits[0]

    def replace(self, old, new):
        i = self.find(old)
        self._set(i, self.src(i).replace(old, new))
        return i

    def set_source(self, needle, text):
        i = self.find(needle)
        self._set(i, text)
        return i

    def insert(self, index, cell_type, text, tags=()):
        import uuid

        cell = {
            "id": uuid.uuid4().hex[:8],
            "cell_type": cell_type,
            "metadata": {"tags": list(tags)} if tags else {},
            "source": text.splitlines(keepends=True),
        }
        if cell_type == "code":
            cell.update(execution_count=None, outputs=[])
        self.nb["cells"].insert(index, cell)

    def set_tags(self, needle, tags):
        i = self.find(needle)
        md = self.nb["cells"][i].setdefault("metadata", {})
        if tags:
            md["tags"] = list(tags)
        else:
            md.pop("tags", None)

    def save(self):
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(self.nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
