"""benchmarks/partnership.py's pure helpers, on a handful of step records made here: which
authority steps overlapped, parallel efficiency, each step's CPU and peak from per-process
samples, and the lists' comparison. No run (the benchmark itself is run by hand); that the
module loads no Dagster is test_unit_layer.py's check, in a fresh interpreter."""

from __future__ import annotations

import pytest

from benchmarks.partnership import (
    Step,
    by_stage,
    overlaps,
    parallel_efficiency,
    same_lists,
    span,
    stage_of,
    stages_grew,
    step_usage,
)


def _step(step: str, start: float, end: float | None, pid: int = 1, home: str = "partnership"):
    return Step(home, "hearth_partnership", "r1", step, pid, start, end)


def test_authority_steps_that_share_time_are_found_with_the_seconds_shared() -> None:
    steps = [
        _step("route_partnership_landing", 0.0, 10.0),
        _step("prepare_authority[E06000901]", 10.0, 50.0, pid=2),
        _step("prepare_authority[E06000902]", 11.0, 30.0, pid=3),
        _step("prepare_authority[E06000903]", 50.0, 70.0, pid=2),  # touches, does not overlap
        _step("partnership_model", 70.0, 90.0),
    ]
    assert overlaps(steps) == [
        {"steps": ["prepare_authority[E06000901]", "prepare_authority[E06000902]"], "seconds": 19.0}
    ]


def test_steps_one_after_another_do_not_overlap_and_other_steps_do_not_count() -> None:
    steps = [
        _step("prepare_authority[E06000901]", 0.0, 10.0),
        _step("prepare_authority[E06000902]", 10.0, 20.0),
        _step("score_authority[E06000901]", 20.0, 25.0),
        _step("partnership_model", 5.0, 25.0),  # not an authority's: left out
        _step("score_authority[E06000902]", 21.0, None),  # never ended: left out
    ]
    assert overlaps(steps) == []


def test_parallel_efficiency_is_busy_seconds_over_the_slots_wall() -> None:
    steps = [_step("a", 0.0, 40.0), _step("b", 0.0, 40.0), _step("c", 40.0, 60.0)]
    assert parallel_efficiency(steps, 80.0, 2) == pytest.approx(100 / 160)
    assert parallel_efficiency(steps, 100.0, 1) == pytest.approx(1.0)
    assert parallel_efficiency(steps, 0.0, 2) is None


def test_a_steps_cpu_and_peak_are_its_process_samples_while_it_ran() -> None:
    steps = [
        _step("prepare_authority[E06000901]", 10.0, 20.0, pid=7),
        _step("ingest_extract", 12.0, 15.0, pid=8, home="E06000901"),
        _step("feature_sets", 15.0, 19.0, pid=8, home="E06000901"),
    ]
    samples = [  # (wall clock, pid, RSS, the process's CPU seconds so far)
        (11.0, 7, 100, 1.0),
        (19.0, 7, 300, 1.5),
        (25.0, 7, 900, 9.0),  # after its step ended: counted for no step
        (12.0, 8, 500, 2.0),  # the first sample of a process: no CPU before it is known
        (14.0, 8, 800, 4.5),
        (16.0, 8, 600, 6.0),
        (19.0, 8, 700, 10.0),
    ]
    usage = step_usage(samples, steps)
    assert usage[("partnership", "r1", "prepare_authority[E06000901]")] == {"cpu": 0.5, "peak": 300}
    assert usage[("E06000901", "r1", "ingest_extract")] == {"cpu": 2.5, "peak": 800}
    assert usage[("E06000901", "r1", "feature_sets")] == {"cpu": 5.5, "peak": 700}


def test_steps_are_counted_under_the_cost_models_stages() -> None:
    assert stage_of("partnership", "route_partnership_landing") == "route"
    assert stage_of("partnership", "prepare_authority[E06000901]") == "authority_wait"
    assert stage_of("partnership", "partnership_model") == "partnership_model"
    assert stage_of("partnership", "partnership_model_fit[sharing_0]") == "partnership_model"
    assert stage_of("partnership", "partnership_model_registered") == "partnership_model"
    assert stage_of("E06000901", "champion_model") == "train_evaluate"
    assert stage_of("E06000901", "household_scores") == "score"
    rows = [
        {"stage": "score", "seconds": 2.0, "cpu_seconds": 1.5, "peak_mb": 300},
        {"stage": "score", "seconds": 3.0, "cpu_seconds": 2.5, "peak_mb": 200},
        {"stage": "route", "seconds": 1.0, "cpu_seconds": 0.5, "peak_mb": 100},
    ]
    assert by_stage(rows) == {
        "score": {"seconds": 5.0, "cpu_seconds": 4.0, "peak_mb": 300},
        "route": {"seconds": 1.0, "cpu_seconds": 0.5, "peak_mb": 100},
    }


def test_each_authoritys_list_is_compared_with_the_in_process_runs() -> None:
    base = {"E06000901": "aa", "E06000902": "bb"}
    assert same_lists({"E06000901": "aa", "E06000902": "bb"}, base) == {
        "E06000901": True,
        "E06000902": True,
    }
    assert same_lists({"E06000901": "aa", "E06000902": "bc"}, base)["E06000902"] is False
    assert same_lists({"E06000901": "aa"}, base)["E06000902"] is False  # no list: not the same
    assert same_lists({"E06000901": "aa"}, None) is None


def test_a_stage_that_grew_by_more_than_a_quarter_is_named() -> None:
    then = {"score": {"cpu_seconds": 100.0, "peak_mb": 2000}, "route": {"cpu_seconds": 10.0}}
    now = {
        "score": {"cpu_seconds": 125.0, "peak_mb": 2600},  # CPU by a quarter: not flagged
        "route": {"cpu_seconds": 13.0, "peak_mb": 100},  # no peak before: only CPU compared
        "summary": {"cpu_seconds": 1.0, "peak_mb": 50},  # new: nothing to compare
    }
    assert stages_grew(now, then, "multiprocess") == [
        "multiprocess score: peak memory grew from 2,000 MB to 2,600 MB",
        "multiprocess route: CPU grew from 10.0 s to 13.0 s",
    ]


def test_the_cost_models_line_is_least_squares_and_says_when_it_is_not_straight() -> None:
    from benchmarks.partnership_cost import fit_line, worst_residual

    a, b = fit_line([(20_000, 300.0), (100_000, 1_100.0)])  # two points: the line through them
    assert (a, b) == pytest.approx((100.0, 0.01))
    assert worst_residual([(20_000, 300.0), (100_000, 1_100.0)], a, b) is None
    pts = [(0, 1.0), (1, 3.0), (2, 5.0), (3, 13.0)]  # the last point off a straight line
    a, b = fit_line(pts)
    assert (a, b) == pytest.approx((-0.2, 3.8))
    assert worst_residual(pts, a, b) == pytest.approx(1.2)  # the first: 1.0 against -0.2
    assert fit_line([(50_000, 500.0)]) == (0.0, 0.01)  # one point: through the origin
    with pytest.raises(ValueError):
        fit_line([])


def test_a_bare_measured_apart_is_the_newest_of_its_world() -> None:
    """At a million the bare compute runs on its own (`--bare-only`) after an executor's run:
    the cost model pairs it with the run of the same households and seed, the newest first."""
    from benchmarks.partnership_cost import bare_runs

    def run(n: int, seed: int, started: str, cpu: float | None) -> dict:
        bare = None if cpu is None else {"cpu_total": cpu}
        return {"households": n, "seed": seed, "started": started, "bare": bare}

    runs = [
        run(1_000_000, 7, "2026-12-07T17:24", None),
        run(1_000_000, 7, "2026-12-07T20:26", 2436.4),
        run(1_000_000, 7, "2026-12-07T19:00", 9.0),
        run(1_000_000, 8, "2026-12-07T21:00", 5.0),
        run(300_000, 7, "2026-12-07T15:16", 0),
    ]
    found = bare_runs(runs)
    assert found[(1_000_000, 7)]["cpu_total"] == 2436.4
    assert found[(1_000_000, 8)]["cpu_total"] == 5.0
    assert (300_000, 7) not in found  # a bare that measured nothing is no bare


def test_the_models_steps_are_timed_from_the_first_start_to_the_last_end() -> None:
    """The partnership model's wall in the run: its steps side by side count once."""
    steps = [
        _step("prepare_authority[E06000901]", 0.0, 10.0),
        _step("partnership_model", 10.0, 12.0),
        _step("partnership_model_candidate[candidate_logistic]", 12.5, 20.0, pid=2),
        _step("partnership_model_candidate[candidate_gradient_boosting]", 12.6, 40.0, pid=3),
        _step("partnership_model_registered", 40.0, 45.0),
        _step("score_authority[E06000901]", 45.0, 60.0),  # not the model's
    ]
    assert span(steps) == pytest.approx(35.0)
    fits = ("partnership_model_candidate", "partnership_model_fit")
    assert overlaps(steps, fits) == [
        {
            "steps": [
                "partnership_model_candidate[candidate_logistic]",
                "partnership_model_candidate[candidate_gradient_boosting]",
            ],
            "seconds": 7.4,  # from the second start (12.6) to the first end (20)
        }
    ]
    assert span([_step("partnership_model", 1.0, None)]) is None


def test_two_runs_of_a_day_write_two_files_and_the_newest_is_the_last(tmp_path, monkeypatch):
    """The results file is named by the run's start to the minute (and a label), so a second
    run of the same size and executors on the same day keeps the first's file; the last result
    is the one that started last, an older quick run's file left out of a full run's."""
    import json
    from datetime import UTC, datetime

    from benchmarks import partnership as bench

    first = datetime(2026, 12, 7, 14, 5, tzinfo=UTC)
    second = datetime(2026, 12, 7, 15, 40, tzinfo=UTC)
    names = [bench.result_name(t, 300_000, ["multiprocess"], "") for t in (first, second)]
    assert names == [
        "partnership-2026-12-07-1405-300000-multiprocess.json",
        "partnership-2026-12-07-1540-300000-multiprocess.json",
    ]
    labelled = bench.result_name(first, 100_000, ["multiprocess"], "folds")
    assert labelled == "partnership-2026-12-07-1405-100000-multiprocess-folds.json"
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    for name, t in zip(names, (second, first), strict=True):  # the later name started first
        record = {"date": "2026-12-07", "started": t.isoformat(), "households": 300_000}
        (tmp_path / name).write_text(json.dumps(record))
    older_quick = {"date": "2026-12-08", "households": 300_000}
    (tmp_path / "partnership-2026-12-08-300000-multiprocess-quick.json").write_text(
        json.dumps(older_quick)
    )
    last = bench.last_result(300_000, False, tmp_path / "none.json")
    assert last is not None and last[0] == names[0]
    assert bench.last_result(300_000, True, tmp_path / "none.json")[0].endswith("-quick.json")


def _result(n: int, sizes: dict[str, int], route_mb: int, per_household_mb: float) -> dict:
    """A measured run as partnership_cost reads it: the routing's stage, one link step per
    authority whose CPU is 10 + 0.001 a household and whose peak grows with the authority."""
    route = {"home": "partnership", "stage": "route", "cpu_seconds": n / 1000, "peak_mb": route_mb}
    steps = [route]
    for home, size in sizes.items():
        for half in (0.5, 0.5):  # two steps of one stage: CPU summed, the peak the larger
            steps.append(
                {
                    "home": home,
                    "stage": "link",
                    "cpu_seconds": half * (10 + 0.001 * size),
                    "peak_mb": 100 + per_household_mb * size * half * 2,
                }
            )
    stages = {"route": {"cpu_seconds": n / 1000, "peak_mb": route_mb}}
    run = {"steps": steps, "stages": stages, "cpu_outside_steps": 30.0, "cpu_seconds": 0.0}
    return {"households": n, "authority_households": sizes, "run": run}


def test_an_authoritys_stage_is_drawn_against_its_own_households() -> None:
    """Authorities of unequal size: each link step is a point at its own authority's size, so
    the line is the authorities' (10 CPU s each, 1 per 1,000), not the partnership's."""
    from benchmarks.partnership_cost import authority_lines

    points = {
        3_000: _result(3_000, {"A": 1_000, "B": 2_000}, 500, 0.01),
        30_000: _result(30_000, {"A": 5_000, "B": 25_000}, 900, 0.01),
    }
    cpu = authority_lines(points, "cpu_seconds")["link"]
    assert cpu["fixed"] == pytest.approx(10.0)
    assert cpu["per_1000"] == pytest.approx(1.0)
    assert sorted(cpu["points"]) == [(1_000, 11.0), (2_000, 12.0), (5_000, 15.0), (25_000, 35.0)]
    peak = authority_lines(points, "peak_mb")["link"]
    assert (peak["fixed"], peak["per_1000"]) == pytest.approx((100.0, 10.0))


def test_a_partnership_is_projected_per_authority_and_its_largest_job() -> None:
    """310 authorities: the authorities' fixed part is paid 310 times, the rest per household;
    the largest authority's job sets the memory; the routing is one process on every household;
    the start-up outside steps scales from the measured runs' authorities."""
    from benchmarks.partnership_cost import Partnership, project

    points = {
        3_000: _result(3_000, {"A": 1_000, "B": 2_000}, 500, 0.01),
        30_000: _result(30_000, {"A": 5_000, "B": 25_000}, 900, 0.01),
    }
    got = project(points, Partnership(25_000_000, 310, 450_000))
    assert got["stages"]["link"]["cpu_seconds"] == pytest.approx(310 * 10 + 25_000)
    assert got["stages"]["link"]["peak_mb"] == pytest.approx(100 + 4_500)
    assert got["largest_authority_mb"] == pytest.approx(4_600)
    assert got["stages"]["route"]["cpu_seconds"] == pytest.approx(25_000)
    assert got["stages"]["route"]["peak_mb"] == pytest.approx(500 + 400 / 27_000 * 24_997_000)
    assert got["outside_steps_cpu"] == pytest.approx(30.0 / 2 * 310)  # measured with 2 each
    assert got["authorities_cpu"] == pytest.approx(310 * 10 + 25_000)


def test_a_partnership_to_project_is_read_and_refused_when_it_cannot_be() -> None:
    from benchmarks.partnership_cost import Partnership

    assert Partnership.parse("25_000_000:310:450000") == Partnership(25_000_000, 310, 450_000)
    for bad in ("25000000:310", "100:3:200", "1000:3:300", "x:1:1"):
        with pytest.raises(SystemExit):
            Partnership.parse(bad)
    assert Partnership.parse("900:3:300") == Partnership(900, 3, 300)  # equal thirds


def test_the_cost_model_is_checked_on_each_size_from_the_smaller_ones_alone() -> None:
    """The projection of the largest size uses only the two below it: a third run far off
    their line shows as a large error, and the first two sizes are never checked."""
    from benchmarks.partnership_cost import check

    points = {
        n: _result(n, {"A": n // 2, "B": n // 2}, mb, 0.01)
        for n, mb in ((2_000, 500), (20_000, 680), (200_000, 9_000))
    }
    for n, d in points.items():
        d["run"]["cpu_seconds"] = n / 1000 + 0.001 * n + 20 + 30.0
    rows = check(points)
    assert [r["households"] for r in rows] == [200_000]
    assert rows[0]["from"] == [2_000, 20_000]
    guess, got = rows[0]["pairs"]["routing peak MB"]
    assert got == 9_000 and guess == pytest.approx(500 + 0.01 * 198_000)
    guess, got = rows[0]["pairs"]["whole CPU s"]
    assert guess == pytest.approx(got)  # every part on its line: the projection is exact
    guess, got = rows[0]["pairs"]["largest authority job MB"]
    assert guess == pytest.approx(got) == pytest.approx(100 + 1_000)
