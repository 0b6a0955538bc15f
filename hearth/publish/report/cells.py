"""Tables, cards and the cells they hold: aggregate counts under the small-number rule."""

from __future__ import annotations

from html import escape

from hearth.publish.words import percent
from hearth.suppression import SUPPRESSED, suppress


def _card(id_: str, label: str, shown: str, value: float, note: str = "", cls: str = "") -> str:
    note_html = f'<div class="note">{escape(note)}</div>' if note else ""
    return (
        f'<div class="card {cls}"><div class="label">{escape(label)}</div>'
        f'<div class="big" id="{id_}" data-value="{value}">{escape(shown)}</div>{note_html}</div>'
    )


def _agg(count) -> str:
    """An aggregate count cell under the small-number rule, marked for the tests."""
    return f'<span class="agg">{escape(suppress(None if count is None else int(count)))}</span>'


def _exact(count) -> str:
    """A count of rows (not of people or households), shown exactly: '' for unknown."""
    if count is None:
        return ""
    return f'<span class="exact">{int(count):,}</span>'


def _sort_value(count: int | None) -> float:
    """The shown value as a number for ordering and bar length ('*' counts as 0)."""
    shown = suppress(count)
    return 0.0 if shown in ("", SUPPRESSED) else float(shown.replace(",", ""))


def _pct(x) -> str:
    """A share, in the one format for shares (hearth/publish/words.py)."""
    return percent(x)


def _num(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if v != v else f"{v:.2f}"


def _table(heads: list[str], rows: list[list[str]], num: str = "", id_: str = "") -> str:
    """Cells are HTML already (escaped by the caller); `num` names right-aligned columns."""
    cls = " ".join(num.split())
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    id_attr = f' id="{id_}"' if id_ else ""
    return (
        f'<div class="scroll"><table class="{cls}"{id_attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )
