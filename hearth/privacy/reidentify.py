"""Re-identification at the agency: `hearth reidentify`.

An agency holds its own client list with real identifiers (NHS numbers or UPRNs). It hashes
them with the key shared between partners — the same keyed hash and normalisation as
`hearth pseudonymise` — and Hearth matches the pseudonyms against the published list: a
household pseudonym directly, a person pseudonym through the household that person lived in at
the as-of date (only for roles whose contract lets them see person pseudonyms: social care,
health, police). The agency gets back the ranked households it already knows, in its role's
view, beside its own identifiers, in a file on its side.

The role is not taken on the caller's word: the OS user must be given it in the roles file
(hearth/privacy/role_access.py). What Hearth keeps: one entry in the audit log
(hearth/privacy/audit.py: when,
who, role, how many clients, how many matched, which published run), chained so that it cannot
be edited unseen — never an identifier or a pseudonym of the list. The warehouse is only read
(a person's household at the as-of date), so this works while a run or a reader has it open.
The output file may not be written inside HEARTH_HOME, and the key never appears in a message.

An officer reviews a listed household's uncertain links (`hearth reidentify-links`,
hearth/privacy/link_review.py) on the same terms: the role granted by the roles file, each
review audited, and only the sources whose record ids and linkage the contracts let it read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from hearth import settings
from hearth.atomic import write_atomically
from hearth.ingest.shapes import headers_described
from hearth.privacy.access import login_user, os_user
from hearth.privacy.audit import AuditError, append, entries
from hearth.privacy.identifier_forms import IdentifierFormError, as_text
from hearth.privacy.pseudonymise import pseudonymise_series, read_key
from hearth.privacy.role_access import Grant, RoleError, authorise
from hearth.publish.published import load_published, published_folder
from hearth.publish.roles import check_role, role_view
from hearth.quality.contracts import load_contract
from hearth.warehouse import query, run_sql

FORMATS = (".csv", ".parquet")


class ReidentifyError(ValueError):
    """A problem with the client list, the output or the published run, in a sentence."""


@dataclass(frozen=True)
class ReidentifyResult:
    role: str
    as_of: str
    clients: int  # non-empty identifiers on the list
    matched: int  # of those, how many led to a household on the ranked list
    households: int  # distinct households returned
    out: Path
    people_matched: bool = True  # False for roles that may match households only


def persons_allowed(role: str) -> bool:
    """Whether a role may match people, not only households: the roles the people register's
    contract lets see person pseudonyms (a fire service matches by UPRN only)."""
    return role in load_contract("people").column("person_pid").roles


def default_out(clients: Path, as_of: str, role: str) -> Path:
    """Beside the client list, named by role and month: two roles' files never collide."""
    return clients.with_name(f"{clients.stem}_hearth_{role}_{as_of}.csv")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _read_clients(path: Path, id_column: str) -> pl.Series:
    if path.suffix.lower() not in FORMATS:
        raise ReidentifyError(f"The client list {path} must end in .csv or .parquet.")
    if not path.is_file():
        raise ReidentifyError(f"The client list {path} does not exist.")
    try:
        if path.suffix.lower() == ".csv":
            frame = pl.read_csv(path, infer_schema=False)
        else:
            frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as e:
        # The library's message may quote a line of the file, i.e. an identifier: not shown.
        raise ReidentifyError(
            f"The client list {path} could not be read ({type(e).__name__})."
        ) from None
    if id_column not in frame.columns:
        # A list without its header row has values where the names belong (an NHS number, a
        # name): a column is named only when its name is a header's, the rest are counted.
        raise ReidentifyError(
            f"Column '{id_column}' is not in {path}; its columns are: "
            f"{headers_described(frame.columns)}."
        )
    try:
        return as_text(frame[id_column], str(path))
    except IdentifierFormError as e:
        raise ReidentifyError(str(e)) from None


def _client_pids(key: bytes, ids: pl.Series, where: str) -> pl.Series:
    """The list's pseudonyms, made as `hearth pseudonymise` makes them (the same forms made
    one); a number in scientific notation is refused with a count."""
    try:
        pids, _ = pseudonymise_series(key, ids, where)
    except IdentifierFormError as e:
        raise ReidentifyError(str(e)) from None
    return pids.alias("client_pid")


def _known(frame: pl.DataFrame, persons: bool) -> int:
    """How many of the list's pseudonyms are a household or (if the role may match people) a
    person anywhere in the warehouse: 0 means another key or another column."""
    with _read_warehouse() as con:
        con.register("client_pids", frame.to_arrow())
        try:
            return query(con, "publish/client_known", {"persons": persons}).fetchall()[0][0]
        finally:
            con.unregister("client_pids")


def _write_out(frame: pl.DataFrame, out: Path) -> None:
    write_atomically(
        out, frame.write_parquet if out.suffix.lower() == ".parquet" else frame.write_csv
    )


def audit_entries(limit: int = 50) -> list[dict]:
    """The newest `limit` audit entries, newest first."""

    return list(reversed(entries()))[:limit]


def published_list(as_of: str | None) -> tuple[pl.DataFrame, dict, str]:
    """The published list of `as_of` (the newest without it), its run summary and its as-of
    month, or a ReidentifyError saying none is published."""
    try:
        folder = published_folder(settings.outputs_dir(), as_of)
    except FileNotFoundError as e:
        raise ReidentifyError(str(e)) from None
    ranked, summary = load_published(folder)
    return ranked, summary, str(summary.get("as_of") or folder.name)


def _with_words(
    ranked: pl.DataFrame,
    summary: dict,
    households: pl.Series,
    say: Callable[[str], None] | None,
) -> pl.DataFrame:
    """The list with words for the matched `households` the scoring step left unexplained
    (beyond the ranks its outputs show by default), from the model version that scored it and
    the month's kept features; when either is gone, the households keep their rank and score
    and the sentence is said."""
    from hearth.modelling.scoring.on_demand import Unexplainable, explain_published  # sklearn

    try:
        return explain_published(ranked, ranked.height, summary, only=households)
    except Unexplainable as e:
        if say:
            say(f"{e} The matched households are returned with their rank and score only.")
        return ranked


def _audit(action: str, grant, **fields) -> None:

    # The audit finds who is behind the process itself (the kernel's login user).
    try:
        append(action, role=grant.role, via=grant.via, **fields)
    except AuditError as e:
        raise ReidentifyError(str(e)) from None


def _authorised(role: str):
    """The roles file's grant of `role` to this OS user; a refusal is audited, then raised."""

    try:
        return authorise(role)
    except RoleError as e:
        _audit("refused", Grant(role, login_user(), os_user(), None), detail={"why": str(e)})
        raise ReidentifyError(str(e)) from None


@contextmanager
def _read_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, read only (DuckDB lets any number of processes read a file together)."""
    path = settings.warehouse_path()
    if not path.is_file():
        raise ReidentifyError(f"There is no warehouse at {path}: run the pipeline first.")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException:
        raise ReidentifyError(
            f"The warehouse {path} is open for writing by another process (not a Hearth run, "
            "which works on a copy); try again when it has finished. Nothing was written."
        ) from None
    try:
        run_sql(con, "warehouse/session", {"memory_limit": settings.duckdb_memory_limit()})
        yield con
    finally:
        con.close()


def reidentify(
    key_file: Path | None,
    clients: Path,
    id_column: str,
    role: str,
    out: Path | None = None,
    as_of: str | None = None,
    say: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> ReidentifyResult:

    check_role(role)
    grant = _authorised(role)
    if say and grant.via.endswith("(no roles file)"):
        say(
            f"Note: there is no roles file ({settings.roles_file()[0]}), so the owner of "
            "HEARTH_HOME may use every role and no one else may use any; see 'Access' in "
            "docs/operations.md."
        )
    key = read_key(key_file)  # PseudonymiseError names the file or variable, never the key
    clients = Path(clients)
    home = settings.hearth_home()
    if _inside(clients, home):
        raise ReidentifyError(
            f"The client list {clients} is inside HEARTH_HOME ({home}); raw identifiers must "
            "never be kept there. Keep the list at the agency and run the command from there."
        )
    ranked, summary, run_as_of = published_list(as_of)
    out = Path(out) if out else default_out(clients, run_as_of, role)
    if out.suffix.lower() not in FORMATS:
        raise ReidentifyError(f"The output {out} must end in .csv or .parquet.")
    if _inside(out, home) or _inside(out, settings.outputs_dir()):
        raise ReidentifyError(
            f"The output {out} would be inside HEARTH_HOME ({home}); it holds the agency's own "
            "identifiers, so it must be written at the agency. Choose another --out."
        )
    if out.exists() and out.resolve() == clients.resolve():
        raise ReidentifyError("The output must not be the client list itself.")
    if out.exists() and not overwrite:
        raise ReidentifyError(
            f"The output {out} already exists; nothing was written. Give --overwrite to replace "
            "it, or --out to write elsewhere."
        )

    ids = _read_clients(clients, id_column)
    pids = _client_pids(key, ids, str(clients))
    frame = pl.DataFrame({"client_row": pl.int_range(0, len(ids), eager=True), "client_pid": pids})
    frame = frame.filter(pl.col("client_pid").is_not_null())
    n_clients = frame.height

    direct = frame.join(
        ranked.select("household_pid"), left_on="client_pid", right_on="household_pid"
    ).select("client_row", pl.col("client_pid").alias("household_pid"))
    pairs = direct
    if persons_allowed(role):
        y, m = int(run_as_of[:4]), int(run_as_of[5:7])
        with _read_warehouse() as con:
            con.register("client_pids", frame.to_arrow())
            try:
                via_person = query(
                    con, "publish/client_households", {"as_of": datetime(y, m, 1).date()}
                ).pl()
            finally:
                con.unregister("client_pids")
        pairs = pl.concat([direct, via_person.cast({"client_row": pl.Int64})]).unique()
    pairs = pairs.join(ranked.select("household_pid"), on="household_pid", how="semi")
    matched = pairs["client_row"].n_unique()
    ranked = _with_words(ranked, summary, pairs["household_pid"], say)
    view = role_view(ranked, role)
    id_name = id_column if id_column not in view.columns else f"client_{id_column}"
    keyed = view.with_columns(ranked["household_pid"].alias("_household"))
    listed = pl.DataFrame({"client_row": pl.int_range(0, len(ids), eager=True), id_name: ids})
    result = (
        pairs.join(keyed, left_on="household_pid", right_on="_household", suffix="_view")
        .join(listed, on="client_row")
        .sort("rank", "client_row")
    )
    result = result.select(
        id_name, *[f"{c}_view" if c == "household_pid" else c for c in view.columns]
    ).rename({"household_pid_view": "household_pid"}, strict=False)
    result = result.with_columns(pl.col("score").round(6))
    households = pairs["household_pid"].n_unique()
    if matched == 0 and n_clients and _known(frame, persons_allowed(role)) == 0:
        _audit(
            "refused",
            grant,
            clients=n_clients,
            matched=0,
            run_as_of=run_as_of,
            detail={"why": "no identifier on the list is known to Hearth", "id_column": id_column},
        )
        whom = (
            "a person or a household"
            if persons_allowed(role)
            else f"a household (the {role} role matches UPRNs only)"
        )
        raise ReidentifyError(
            f"None of the {n_clients:,} identifiers in column '{id_column}' of {clients} is known "
            f"to Hearth as {whom}, on the list or not: the key is probably not the one the "
            "partners' extracts were pseudonymised with (check --key-file or "
            "HEARTH_PSEUDONYMISATION_KEY), or the column does not hold the NHS numbers or "
            "UPRNs the extracts were made from. Nothing was written."
        )

    # The audit entry first: if it cannot be written, nothing is handed out. It goes to the
    # audit log's own folder, so it never waits for a run or a reader of the warehouse.
    _audit(
        "reidentify",
        grant,
        clients=n_clients,
        matched=matched,
        run_as_of=run_as_of,
        detail={
            "households_returned": households,
            "model_version": (summary.get("model") or {}).get("version"),
            "id_column": id_column,
            "matched_people": persons_allowed(role),
        },
    )
    _write_out(result, out)
    return ReidentifyResult(
        role, run_as_of, n_clients, matched, households, out, persons_allowed(role)
    )
