"""What people receive as JSON (run_summary.json) is strict JSON: a figure with no finite value
(the lottery's complier interval with no upper limit, a ratio of nothing) is written as null,
never as Infinity or NaN, which strict readers refuse."""

from __future__ import annotations

import json
import math

import numpy as np

from hearth.publish.outputs import write_json


def _refuse(name: str) -> None:
    raise ValueError(f"not strict JSON: {name}")


def test_no_finite_value_is_written_as_null(tmp_path):
    path = tmp_path / "run_summary.json"
    data = {
        "effects": [{"ratio": 0.8, "low": 0.5, "high": math.inf}, {"ratio": math.nan}],
        "pair": (np.float64("-inf"), 1.0),
        "nested": {"deeper": {"value": float("nan"), "kept": 3}},
    }
    write_json(path, data)
    back = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse)
    assert back["effects"] == [{"ratio": 0.8, "low": 0.5, "high": None}, {"ratio": None}]
    assert back["pair"] == [None, 1.0]
    assert back["nested"] == {"deeper": {"value": None, "kept": 3}}
