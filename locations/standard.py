"""The location standard as data: its pydantic model, the measures it may name, and the loader.

A standard file (YAML) is checked twice: first its shape (pydantic), then its
meaning (weights add up, references resolve, thresholds are ordered, measures
are known). Every problem is reported with its path in the file, e.g.
``profiles.logistics.weights: sum is 95, must be 100``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from locations.errors import InvalidInput, NotFound
from locations.settings import get_settings
from locations.vocabulary import BROADBAND, PLOT_STATUS, READINESS, USE

#: Plot uses a profile may ask the zoning for (the schema's ``allowed_uses`` values).
USES = USE.codes
PLOT_STATUSES = PLOT_STATUS.codes


@dataclass(frozen=True)
class Measure:
    """Something the scoring engine can measure for a plot.

    ``values`` lists the possible values of a categorical measure in a fixed
    order; the engine stores a categorical raw value as its position in it.
    """

    unit: str
    level: Literal["plot", "zone"]
    description: str
    values: tuple[str, ...] | None = None


YES_NO = ("no", "yes")

#: Every measure a standard may name; the engine knows how to compute each of them.
MEASURES: dict[str, Measure] = {
    "motorway_km": Measure("km", "plot", "km to the nearest motorway junction"),
    "rail_freight_km": Measure(
        "km", "plot", "km to the nearest rail freight terminal; 0 with a siding in the zone"),
    "airport_km": Measure("km", "plot", "km to the nearest airport"),
    "public_transport_km": Measure("km", "plot", "km to the nearest rail station or bus stop"),
    "power_mw": Measure("MW", "plot", "MW available to the plot (plot value, else zone value)"),
    "broadband": Measure("class", "zone", "the zone's broadband", BROADBAND.codes),
    "water": Measure("yes/no", "zone", "water supply in the zone", YES_NO),
    "sewage": Measure("class", "zone", "wastewater disposal", ("none", "other", "treated")),
    "gas": Measure("yes/no", "zone", "natural gas in the zone", YES_NO),
    "plot_area_ha": Measure("ha", "plot", "plot area"),
    "compactness": Measure("ratio", "plot", "4*pi*area/perimeter^2"),
    "expansion_ha": Measure("ha", "zone", "largest contiguous available area in the zone"),
    "readiness": Measure(
        "tier", "plot", "readiness tier", READINESS.codes),
    "ownership": Measure("class", "plot", "ownership", ("several", "private", "public")),
    "constraint_share": Measure(
        "share", "plot", "share of the plot in flood-risk, Natura 2000 or water-protection areas"),
    "price_ratio": Measure(
        "ratio", "plot", "price per m2 over the region's median price of available plots"),
    "labour_pool": Measure("persons", "plot", "population within 30 km"),
    "zone_occupancy": Measure("share", "zone", "share of the zone's plot area sold or occupied"),
    "zone_manager": Measure("yes/no", "zone", "named manager with e-mail or phone", YES_NO),
    "months_since_verified": Measure("months", "plot", "months since the facts were verified"),
    "marketing_items": Measure(
        "count", "zone", "descriptions in 2+ languages, property sheet", ("0", "1", "2")),
    "brownfield": Measure("yes/no", "plot", "reuses previously developed land", YES_NO),
}

#: Measures a gate may test (shares of the plot's area).
GATE_MEASURES = {"flood_high_share": "share of the plot in a flood-risk area of the highest class"}


class InvalidStandard(InvalidInput):
    """A standard file that cannot be used; ``problems`` lists each one with its path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__("standard", f"{source} is not a valid standard: " + "; ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinearRule(_Strict):
    kind: Literal["linear"]
    best: float
    worst: float


class TargetRule(_Strict):
    kind: Literal["target"]
    worst: float = 0.0


class PlateauRule(_Strict):
    kind: Literal["plateau"]
    zero_low: float
    best_low: float
    best_high: float
    zero_high: float


class CategoriesRule(_Strict):
    kind: Literal["categories"]
    scores: dict[str, float]

    @field_validator("scores", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads unquoted yes/no as booleans and 0/1/2 as numbers; the standard means text.
        if isinstance(value, dict):
            return {_category_key(key): score for key, score in value.items()}
        return value


def _category_key(key: Any) -> str:
    if isinstance(key, bool):
        return "yes" if key else "no"
    return str(key)


Rule = Annotated[LinearRule | TargetRule | PlateauRule | CategoriesRule, Field(discriminator="kind")]


class Criterion(_Strict):
    group: str
    name: str
    measure: str
    unit: str
    note: str | None = None
    share: float = Field(default=1.0, gt=0)
    rule: Rule


class Gate(_Strict):
    id: str
    name: str
    kind: Literal["status", "zoning", "max_share"]
    allowed: list[str] | None = None
    measure: str | None = None
    max: float | None = None


class Profile(_Strict):
    name: str
    use: str
    target_plot_ha: float = Field(gt=0)
    weights: dict[str, float]
    shares: dict[str, float] = Field(default_factory=dict)


class Standard(_Strict):
    """A validated location standard (use :func:`parse_standard` to build one)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    title: str
    description: str = ""
    groups: dict[str, str]
    criteria: dict[str, Criterion]
    gates: list[Gate]
    profiles: dict[str, Profile]

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    @cached_property
    def criterion_ids(self) -> list[str]:
        """Criteria in a fixed order (as in the file): the order of every stored array."""
        return list(self.criteria)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the standard's content, to tell two files of one name and version apart."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def profile(self, profile_id: str) -> Profile:
        """Raises InvalidInput naming the known profiles."""
        if profile_id not in self.profiles:
            raise InvalidInput(
                "profile", f"unknown profile {profile_id!r}; known: {', '.join(self.profiles)}")
        return self.profiles[profile_id]

    def criterion_weights(
        self, profile_id: str, group_weights: dict[str, float] | None = None
    ) -> dict[str, float]:
        """Each criterion's weight (per cent, summing to 100) under a profile.

        ``group_weights`` replaces the profile's group weights (a what-if); groups it
        leaves out weigh 0, and the rest is renormalised to 100.
        """
        profile = self.profile(profile_id)
        weights = profile.weights if group_weights is None else group_weights
        total = sum(weights.values())
        result: dict[str, float] = {}
        for group, group_weight in weights.items():
            members = [cid for cid, c in self.criteria.items() if c.group == group]
            shares = {cid: profile.shares.get(cid, self.criteria[cid].share) for cid in members}
            share_sum = sum(shares.values())
            for cid in members:
                result[cid] = 100.0 * group_weight / total * shares[cid] / share_sum
        return {cid: result.get(cid, 0.0) for cid in self.criterion_ids}

    def criterion_shares(self, profile_id: str) -> dict[str, float]:
        """Each criterion's share of its group under a profile (a group's shares sum to 1,
        or are all 0): a group's score is its criteria's scores weighed by these."""
        profile = self.profile(profile_id)
        shares = {cid: profile.shares.get(cid, c.share) for cid, c in self.criteria.items()}
        sums: dict[str, float] = {}
        for cid, c in self.criteria.items():
            sums[c.group] = sums.get(c.group, 0.0) + shares[cid]
        return {cid: shares[cid] / sums[c.group] if sums[c.group] else 0.0
                for cid, c in self.criteria.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "profiles": list(self.profiles),
            "criteria": len(self.criteria),
        }


def _number(value: float) -> str:
    return f"{value:g}"


def _meaning_problems(standard: Standard) -> list[str]:
    """What the shape check cannot see: references, sums, order, known measures."""
    problems: list[str] = []
    if not standard.criteria:
        problems.append("criteria: a standard needs at least one criterion")
    for cid, criterion in standard.criteria.items():
        path = f"criteria.{cid}"
        if criterion.group not in standard.groups:
            problems.append(f"{path}.group: unknown group {criterion.group!r}; "
                            f"known: {', '.join(standard.groups)}")
        measure = MEASURES.get(criterion.measure)
        if measure is None:
            problems.append(f"{path}.measure: unknown measure {criterion.measure!r}; "
                            f"known: {', '.join(MEASURES)}")
            continue
        rule = criterion.rule
        if measure.values is not None and not isinstance(rule, CategoriesRule):
            problems.append(f"{path}.rule.kind: measure {criterion.measure!r} takes values "
                            f"({', '.join(measure.values)}), so the rule must be 'categories'")
        elif measure.values is None and isinstance(rule, CategoriesRule):
            problems.append(f"{path}.rule.kind: measure {criterion.measure!r} is a number, "
                            "so the rule must be linear, target or plateau")
        elif isinstance(rule, CategoriesRule):
            for value, score in rule.scores.items():
                if value not in measure.values:
                    problems.append(f"{path}.rule.scores.{value}: unknown value for "
                                    f"{criterion.measure}; allowed: {', '.join(measure.values)}")
                elif not 0 <= score <= 100:
                    problems.append(f"{path}.rule.scores.{value}: {_number(score)} "
                                    "is outside 0..100")
            for value in measure.values:
                if value not in rule.scores:
                    problems.append(f"{path}.rule.scores: no score for {value!r}")
        elif isinstance(rule, LinearRule) and rule.best == rule.worst:
            problems.append(f"{path}.rule: best and worst must differ (both {_number(rule.best)})")
        elif isinstance(rule, PlateauRule):
            points = (rule.zero_low, rule.best_low, rule.best_high, rule.zero_high)
            if list(points) != sorted(points) or rule.zero_low == rule.zero_high:
                problems.append(f"{path}.rule: thresholds must be ordered zero_low <= best_low "
                                "<= best_high <= zero_high (got "
                                f"{', '.join(_number(p) for p in points)})")
        elif isinstance(rule, TargetRule):
            for pid, profile in standard.profiles.items():
                if profile.target_plot_ha <= rule.worst:
                    problems.append(f"profiles.{pid}.target_plot_ha: "
                                    f"{_number(profile.target_plot_ha)} must be above "
                                    f"{path}.rule.worst ({_number(rule.worst)})")
    seen_gates: set[str] = set()
    for index, gate in enumerate(standard.gates):
        path = f"gates.{index}"
        if gate.id in seen_gates:
            problems.append(f"{path}.id: gate {gate.id!r} appears twice")
        seen_gates.add(gate.id)
        if gate.kind == "status":
            unknown = [s for s in gate.allowed or [] if s not in PLOT_STATUSES]
            if not gate.allowed or unknown:
                problems.append(f"{path}.allowed: list plot statuses from "
                                f"{', '.join(PLOT_STATUSES)}" +
                                (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        if gate.kind == "max_share":
            if gate.measure not in GATE_MEASURES:
                problems.append(f"{path}.measure: unknown gate measure {gate.measure!r}; "
                                f"known: {', '.join(GATE_MEASURES)}")
            if gate.max is None or not 0 <= gate.max <= 1:
                problems.append(f"{path}.max: a share between 0 and 1 is needed")
    if not standard.profiles:
        problems.append("profiles: a standard needs at least one profile")
    for pid, profile in standard.profiles.items():
        path = f"profiles.{pid}"
        if profile.use not in USES:
            problems.append(f"{path}.use: unknown use {profile.use!r}; known: {', '.join(USES)}")
        for group, weight in profile.weights.items():
            if group not in standard.groups:
                problems.append(f"{path}.weights.{group}: unknown group; "
                                f"known: {', '.join(standard.groups)}")
            elif weight < 0:
                problems.append(f"{path}.weights.{group}: {_number(weight)} is negative")
            elif weight > 0 and not any(c.group == group for c in standard.criteria.values()):
                problems.append(f"{path}.weights.{group}: the group has no criteria")
        for group in standard.groups:
            if group not in profile.weights:
                problems.append(f"{path}.weights: no weight for group {group!r}")
        total = sum(profile.weights.values())
        if not math.isclose(total, 100, abs_tol=1e-6):
            problems.append(f"{path}.weights: sum is {_number(total)}, must be 100")
        for cid, share in profile.shares.items():
            if cid not in standard.criteria:
                problems.append(f"{path}.shares.{cid}: unknown criterion; "
                                f"known: {', '.join(standard.criteria)}")
            elif share <= 0:
                problems.append(f"{path}.shares.{cid}: {_number(share)} must be above 0")
    return problems


def _shape_problem(error: dict[str, Any]) -> str:
    location: list[str] = []
    for part in error.get("loc", ()):
        # Drop the discriminator tag pydantic inserts after ``rule`` (``rule.linear.best``).
        if location and location[-1] == "rule" and part in ("linear", "target", "plateau",
                                                            "categories"):
            continue
        location.append(str(part))
    message = error.get("msg", "invalid")
    if error.get("type") == "missing":
        message = "is required"
    elif error.get("type") == "extra_forbidden":
        message = "is not a field of the standard"
    return f"{'.'.join(location) or '(top)'}: {message}"


def parse_standard(document: Any, source: str = "standard") -> Standard:
    """Validate a standard already read from YAML or JSON.

    Raises:
        InvalidStandard: with every problem and its path.
    """
    if not isinstance(document, dict):
        raise InvalidStandard(source, ["(top): a standard is a mapping of name, version, ..."])
    try:
        standard = Standard.model_validate(document)
    except ValidationError as exc:
        raise InvalidStandard(source, [_shape_problem(e) for e in exc.errors()]) from None
    problems = _meaning_problems(standard)
    if problems:
        raise InvalidStandard(source, problems)
    return standard


#: Standards read, by file, modification time and size: requests that check a profile
#: against the shipped standard would otherwise parse and validate its YAML each time
#: (about 60 ms), while a file edited in place is read anew.
_READ: dict[tuple[str, int, int], Standard] = {}


def load_standard(path: Path | str) -> Standard:
    """Read and validate a standard file.

    Raises:
        InvalidStandard: the file is unreadable, not YAML, or not a valid standard.
    """
    path = Path(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None  # reading it below says why
    if key in _READ:
        return _READ[key]
    standard = _read_standard(path)
    if key is not None:
        _READ[key] = standard
    return standard


def _read_standard(path: Path) -> Standard:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidStandard(str(path), [f"(file): cannot read it: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise InvalidStandard(str(path), [f"{where}: not valid YAML"]) from None
    return parse_standard(document, str(path))


def standards_dir() -> Path:
    return get_settings().data_dir / "standards"


def available_standards(folder: Path | None = None) -> list[Standard]:
    """Every valid standard shipped in ``data/standards`` (a broken file raises, never hides)."""
    folder = folder or standards_dir()
    return [load_standard(path) for path in sorted(folder.glob("*.yaml"))]


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


def find_standard(name: str, version: str | None = None, folder: Path | None = None) -> Standard:
    """The standard ``name`` in ``version`` (default: its newest version).

    Raises:
        NotFound: no such standard or version.
    """
    candidates = [s for s in available_standards(folder) if s.name == name]
    if version is not None:
        candidates = [s for s in candidates if s.version == version]
    if not candidates:
        suffix = f" version {version}" if version else ""
        raise NotFound(f"no standard named {name!r}{suffix}")
    return max(candidates, key=lambda s: _version_key(s.version))


#: The standard the platform scores with unless told otherwise.
DEFAULT_STANDARD = "location-standard"
