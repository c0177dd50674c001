"""Plain aligned text tables, for listings too long for rich.

rich lays out a table at about 0.4 ms per row, so a county's rates (hundreds of villages,
thousands of children on the exceptions list) took seconds to print, far over SPEC §8's
budget. This renderer writes the same layout as `render.table` into a pipe (ASCII rule,
no box drawing, no colour; SPEC §5) in a few milliseconds: columns padded to their widest
cell, Chinese characters counted as two columns, numbers right-aligned.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

from kcbx.render import Columns, cell_text


def plain_table(rows: Sequence[dict], columns: Columns, title: str | None = None) -> str:
    """The rows as aligned text: optional title, header, a dashed rule, one line per row."""
    headers = [header for _, header in columns]
    lines = [headers] + [[cell_text(row.get(key)) for key, _ in columns] for row in rows]
    lengths = [[cell_len(text) for text in line] for line in lines]
    widths = [max(column) for column in zip(*lengths)]
    right = [bool(rows) and all(isinstance(row.get(key), int) for row in rows)
             for key, _ in columns]

    def render(n: int) -> str:
        padded = []
        for i, (text, length) in enumerate(zip(lines[n], lengths[n])):
            gap = " " * (widths[i] - length)
            padded.append(gap + text if right[i] and n else text + gap)
        return (" " + " | ".join(padded)).rstrip()

    out = [title] if title else []
    out.append(render(0))
    out.append("-" + "-+-".join("-" * w for w in widths) + "-")
    out.extend(render(n) for n in range(1, len(lines)))
    return "\n".join(out) + "\n"
