"""Data contracts: load `data_contracts/<source>.yaml` (Open Data Contract Standard v3.1.0).

Each file is checked three ways before Hearth trusts it:

1. against the official ODCS JSON schema bundled with `open-data-contract-standard` (draft
   2019-09), which rejects unknown keys, a missing `id` or a misspelt `logicalType`;
2. through the package's pydantic model, which is how the rest of the file is read;
3. against `hearth/sources.py`: the same columns in the same order, the same codes, the same
   file format.

Anything wrong raises `ContractError` naming the file and the problem. The result is a small
frozen `Contract` that the ingest, check and expectation code can use without knowing ODCS.
"""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hearth.quality.contract_model import (  # the contract's model; loaded here
    DUCKDB_TYPES,
    ROLES,
    Column,
    ConditionalRule,
    Contract,
    ContractError,
    conditional_rule_query,
)
from hearth.settings import CONTRACTS_DIR
from hearth.sources import CODES, REFERENCE_CODES, REFERENCE_FOLDER, REFERENCES, SOURCES

DATE_FORMAT = "yyyy-MM-dd"  # the one date form the contracts declare and ingest reads


@functools.cache
def _odcs_validator():
    import jsonschema  # jsonschema
    import open_data_contract_standard  # open_data_contract_standard

    schema_file = Path(open_data_contract_standard.__file__).parent / "schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def contract_path(source: str, root: Path | None = None) -> Path:
    return Path(root or CONTRACTS_DIR) / f"{source}.yaml"


def load_contract(source: str, root: Path | None = None) -> Contract:
    """Load and check `data_contracts/<source>.yaml`; raise ContractError if anything is off."""
    path = contract_path(source, root)
    if source not in SOURCES:
        raise ContractError(f"{path}: {source!r} is not a Hearth source ({', '.join(SOURCES)})")
    if not path.is_file():
        raise ContractError(f"{path}: no contract file for source {source!r}")
    stat = path.stat()
    return _load(path.resolve(), source, stat.st_mtime_ns, stat.st_size)


def load_reference_contract(name: str, root: Path | None = None) -> Contract:
    """Load and check `data_contracts/reference/<name>.yaml`, the contract of a reference file
    (`hearth/sources.py` REFERENCES), in the same three ways as a source's."""
    path = Path(root or CONTRACTS_DIR) / REFERENCE_FOLDER / f"{name}.yaml"
    if name not in REFERENCES:
        raise ContractError(f"{path}: {name!r} is not a Hearth reference file")
    if not path.is_file():
        raise ContractError(f"{path}: no contract file for reference file {name!r}")
    stat = path.stat()
    return _load(path.resolve(), name, stat.st_mtime_ns, stat.st_size)


def load_all(root: Path | None = None) -> dict[str, Contract]:
    """All six contracts, in hearth/sources.py order."""
    return {s: load_contract(s, root) for s in SOURCES}


def may_read(role: str, source: str, column: str, root: Path | None = None) -> bool:
    """Whether `role` may read column `column` of source `source` (an extract or a reference
    file): the roles its data contract lists on the column (`customProperties: roles`). The
    one answer to "who sees what": the feature catalogue's roles, every word of every published
    view and the data protection officer's table follow from it. An unknown role, source or
    column raises ContractError in a sentence (never False: a misspelt name is a fault, not a
    refusal)."""
    if role not in ROLES:
        raise ContractError(f"{role!r} is not a role of the data contracts ({', '.join(ROLES)})")
    contract = (
        load_contract(source, root) if source in SOURCES else load_reference_contract(source, root)
    )
    try:
        return role in contract.column(column).roles
    except KeyError:
        raise ContractError(
            f"{contract.path}: the {source} contract has no column {column!r}"
        ) from None


@functools.lru_cache(maxsize=64)
def _load(path: Path, source: str, _mtime_ns: int, _size: int) -> Contract:
    from open_data_contract_standard.model import (
        OpenDataContractStandard,  # open_data_contract_standard
    )

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ContractError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ContractError(f"{path}: expected a YAML mapping at the top level")

    errors = sorted(_odcs_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(_describe(e, data) for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ContractError(f"{path}: does not follow the ODCS schema: {shown}{more}")
    try:
        odcs = OpenDataContractStandard.model_validate(data)
    except ValidationError as e:
        raise ContractError(f"{path}: rejected by the ODCS model: {e}") from None
    return _to_contract(path, source, odcs)


def _describe(error: Any, data: dict) -> str:
    """A schema error as 'where: what', naming the column when the error is inside one."""
    where = error.json_path
    p = list(error.absolute_path)
    if len(p) >= 4 and p[0] == "schema" and p[2] == "properties":
        with contextlib.suppress(KeyError, IndexError, TypeError):
            where += f" (column {data['schema'][p[1]]['properties'][p[3]]['name']!r})"
    return f"{where}: {error.message}"


def _custom(props: list | None) -> dict[str, Any]:
    return {p.property: p.value for p in props or []}


def _to_contract(path: Path, source: str, odcs: Any) -> Contract:
    def fail(problem: str) -> ContractError:
        return ContractError(f"{path}: {problem}")

    expected = SOURCES.get(source) or REFERENCES[source]
    tables = odcs.schema_ or []
    if len(tables) != 1 or tables[0].name != source:
        raise fail(f"expected exactly one schema object named {source!r}")
    table = tables[0]

    columns = tuple(_column(p, source, fail) for p in table.properties or [])
    names = tuple(c.name for c in columns)
    if names != expected.columns:
        missing = [n for n in expected.columns if n not in names]
        extra = [n for n in names if n not in expected.columns]
        detail = (
            f"missing {missing}, unexpected {extra}"
            if missing or extra
            else f"order is {list(names)}, expected {list(expected.columns)}"
        )
        raise fail(f"columns disagree with hearth/sources.py: {detail}")

    keyed = [p for p in table.properties or [] if p.primaryKey]
    key = tuple(p.name for p in sorted(keyed, key=lambda p: p.primaryKeyPosition or 0))

    custom = _custom(odcs.customProperties)
    file_format = custom.get("fileFormat")
    if file_format != expected.file_format:
        raise fail(
            f"customProperties fileFormat is {file_format!r}, hearth/sources.py says "
            f"{expected.file_format!r}"
        )
    lawful = custom.get("lawfulBasis")
    if not lawful:
        raise fail("customProperties lawfulBasis is missing")
    lawful_basis = (lawful,) if isinstance(lawful, str) else tuple(lawful)

    rules = tuple(_conditional(q, names, fail) for q in table.quality or [])

    retention = next((s for s in odcs.slaProperties or [] if s.property == "retention"), None)
    if retention is None:
        raise fail("slaProperties has no retention")
    latency = next((s for s in odcs.slaProperties or [] if s.property == "latency"), None)
    latency_days = (
        int(latency.value) if latency is not None and latency.unit in ("d", "day", "days") else None
    )
    units = {"y": "years", "yr": "years", "years": "years", "m": "months", "month": "months"}
    retention_text = f"{retention.value} {units.get(retention.unit or '', retention.unit or '')}"
    per_unit = {"years": 12, "months": 1}.get(units.get(retention.unit or "", ""))
    if per_unit is None or not isinstance(retention.value, int) or retention.value < 1:
        raise fail("slaProperties retention must be a whole number of years (y) or months (m)")
    element = (retention.element or "").removeprefix(f"{source}.")
    if source in SOURCES and element not in names:
        raise fail(f"slaProperties retention element {retention.element!r} is not a column")

    description = odcs.description
    if description is None or not description.purpose:
        raise fail("description.purpose is missing")
    team = odcs.team
    owner = getattr(team, "name", None)
    if not owner:
        raise fail("team.name (the owner) is missing")

    return Contract(
        source=source,
        file_format=file_format,
        columns=columns,
        conditional_rules=rules,
        purpose=description.purpose.strip(),
        lawful_basis=lawful_basis,
        owner=owner,
        retention=retention_text.strip(),
        id=odcs.id or "",
        version=odcs.version or "",
        path=path,
        latency_days=latency_days,
        key=key,
        retention_months=retention.value * per_unit,
        retention_element=element or None,
    )


def _column(prop: Any, source: str, fail) -> Column:
    name = prop.name
    if prop.logicalType not in DUCKDB_TYPES:
        raise fail(f"column {name!r}: logicalType {prop.logicalType!r} is not one Hearth reads")
    if not (prop.description or "").strip():
        raise fail(f"column {name!r} has no description")
    roles = _custom(prop.customProperties).get("roles")
    if not roles or not isinstance(roles, list) or not set(roles) <= set(ROLES):
        raise fail(f"column {name!r}: customProperties roles must be a non-empty list of {ROLES}")

    allowed = None
    for q in prop.quality or []:
        if q.type == "library" and q.metric == "invalidValues" and q.mustBe == 0:
            valid = (q.arguments or {}).get("validValues")
            if not valid:
                raise fail(f"column {name!r}: invalidValues rule has no arguments.validValues")
            allowed = tuple(valid)
        else:
            raise fail(
                f"column {name!r}: quality rule {q.name or q.type!r} is not one Hearth "
                "understands (library invalidValues with validValues and mustBe 0)"
            )
    codes = CODES.get((source, name)) or REFERENCE_CODES.get((source, name))
    if allowed != codes:
        raise fail(
            f"column {name!r}: allowed codes {list(allowed or [])} disagree with "
            f"hearth/sources.py {list(codes or [])}"
        )

    options = prop.logicalTypeOptions or {}
    if source in SOURCES:
        _check_declared_shape(name, prop.logicalType, allowed, options, fail)
    return Column(
        name=name,
        logical_type=prop.logicalType,
        required=bool(prop.required),
        unique=bool(prop.unique),
        allowed_values=allowed,
        minimum=options.get("minimum") if prop.logicalType in ("integer", "number") else None,
        maximum=options.get("maximum") if prop.logicalType in ("integer", "number") else None,
        pattern=options.get("pattern") if prop.logicalType == "string" else None,
        description=" ".join(prop.description.split()),
        roles=tuple(roles),
        classification=prop.classification,
    )


def _check_declared_shape(
    name: str, logical: str, allowed: tuple | None, options: dict, fail
) -> None:
    """Every column of a source's contract declares the shape of what it holds: Hearth keeps a
    received value only when it has that shape (hearth/ingest/shapes.py), so a column with none
    could never show a value, and an undeclared one is a contract to fix, not to guess."""
    if logical == "string" and not allowed and not options.get("pattern"):
        raise fail(
            f"column {name!r} declares no shape: a text column needs a code list (quality "
            "invalidValues) or a logicalTypeOptions pattern"
        )
    if logical == "date" and options.get("format") != DATE_FORMAT:
        raise fail(
            f"column {name!r}: a date column declares logicalTypeOptions format {DATE_FORMAT} "
            f"(Hearth reads dates in that form), not {options.get('format')!r}"
        )
    if logical in ("integer", "number") and (
        options.get("minimum") is None or options.get("maximum") is None
    ):
        raise fail(
            f"column {name!r} declares no shape: a {logical} column needs logicalTypeOptions "
            "minimum and maximum"
        )


# Each rule kind's customProperties: (the checked column, the other column, the codes or None).
_RULE_PROPERTIES = {
    "required_when": ("requiredColumn", "whenColumn", "whenIn"),
    "only_when": ("absentColumn", "unlessColumn", "unlessIn"),
    "not_before": ("laterColumn", "earlierColumn", None),
}


def _conditional(q: Any, names: tuple[str, ...], fail) -> ConditionalRule:
    custom = _custom(q.customProperties)
    kinds = [k for k, (first, *_) in _RULE_PROPERTIES.items() if first in custom]
    understood = "; ".join(", ".join(p for p in props if p) for props in _RULE_PROPERTIES.values())
    if q.type != "sql" or len(kinds) != 1:
        raise fail(
            f"table quality rule {q.name!r}: Hearth understands only sql rules with one of "
            f"these sets of customProperties: {understood}"
        )
    kind = kinds[0]
    first, second, codes = _RULE_PROPERTIES[kind]
    column, other = custom.get(first), custom.get(second)
    values = custom.get(codes) if codes else ()
    if not column or not other or (codes and not values):
        raise fail(
            f"table quality rule {q.name!r}: customProperties "
            f"{', '.join(p for p in (first, second, codes) if p)} are all needed"
        )
    for c in (column, other):
        if c not in names:
            raise fail(f"table quality rule {q.name!r}: no column {c!r}")
    rule = ConditionalRule(
        column, other, tuple(values), " ".join((q.description or "").split()), kind
    )
    if " ".join((q.query or "").split()) != conditional_rule_query(rule) or q.mustBe != 0:
        raise fail(
            f"table quality rule {q.name!r}: query and mustBe must be exactly "
            f"{conditional_rule_query(rule)!r} and 0, to match its customProperties"
        )
    return rule


def column_roles(root: Path | None = None) -> dict[tuple[str, str], tuple[str, ...]]:
    """Who may read each column, as the contracts say: (source, column) -> roles, in contract
    order. The one reading of the columns' `roles` for the DPO's table (`hearth dpia`,
    docs/data-protection.md); a per-role question ("may role R read column C of source S")
    is the same lookup."""
    return {
        (s, c.name): c.roles for s, contract in load_all(root).items() for c in contract.columns
    }
