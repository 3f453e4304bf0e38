"""The location standard as data: the shipped file is valid, broken files are refused with paths."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from locations.settings import PROJECT_ROOT
from locations.standard import InvalidStandard, load_standard, parse_standard

SHIPPED = PROJECT_ROOT / "data" / "standards" / "location-standard-v1.yaml"


@pytest.fixture
def document() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def refused(document: dict) -> list[str]:
    with pytest.raises(InvalidStandard) as caught:
        parse_standard(document, "test.yaml")
    return caught.value.problems


def test_shipped_standard_encodes_the_spec() -> None:
    standard = load_standard(SHIPPED)
    assert standard.name == "location-standard" and standard.version == "1"
    assert list(standard.criteria) == [
        "A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3",
        "D1", "D2", "D3", "E1", "E2", "E3", "F1", "F2", "F3", "G1"]
    assert set(standard.profiles) == {"manufacturing", "logistics", "services", "technology"}
    # The spec's weight table, group by group, and the target plot sizes.
    assert standard.profiles["logistics"].weights == {
        "accessibility": 35, "infrastructure": 15, "site": 20, "readiness": 10, "market": 10,
        "management": 5, "sustainability": 5}
    assert standard.profiles["services"].weights["market"] == 25
    assert {p: s.target_plot_ha for p, s in standard.profiles.items()} == {
        "manufacturing": 2, "logistics": 5, "services": 0.3, "technology": 0.5}
    a1 = standard.criteria["A1"].rule
    assert (a1.best, a1.worst) == (2, 25)
    assert standard.criteria["D1"].rule.scores == {
        "registered": 30, "serviced": 70, "shovel_ready": 100}


def test_group_weight_is_split_equally_over_its_criteria() -> None:
    standard = load_standard(SHIPPED)
    weights = standard.criterion_weights("logistics")
    # accessibility 35 over A1..A4; infrastructure 15 over B1..B5; sustainability 5 on G1 alone.
    assert weights["A1"] == pytest.approx(35 / 4)
    assert weights["B3"] == pytest.approx(15 / 5)
    assert weights["G1"] == pytest.approx(5)
    assert sum(weights.values()) == pytest.approx(100)


def test_what_if_group_weights_are_renormalised() -> None:
    standard = load_standard(SHIPPED)
    weights = standard.criterion_weights("logistics", {"accessibility": 1, "sustainability": 3})
    assert weights["A2"] == pytest.approx(25 / 4)
    assert weights["G1"] == pytest.approx(75)
    assert weights["B1"] == 0


def test_weights_not_adding_up_are_refused_with_their_path(document: dict) -> None:
    document["profiles"]["logistics"]["weights"]["accessibility"] = 30
    assert "profiles.logistics.weights: sum is 95, must be 100" in refused(document)


def test_unknown_criterion_in_profile_shares_is_refused(document: dict) -> None:
    document["profiles"]["technology"]["shares"] = {"Z9": 2}
    problems = refused(document)
    assert any(p.startswith("profiles.technology.shares.Z9: unknown criterion") for p in problems)


def test_criterion_in_unknown_group_is_refused(document: dict) -> None:
    document["criteria"]["A1"]["group"] = "roads"
    assert any(p.startswith("criteria.A1.group: unknown group 'roads'") for p in refused(document))


def test_unknown_measure_is_refused(document: dict) -> None:
    document["criteria"]["A1"]["measure"] = "motorway_minutes"
    assert any(p.startswith("criteria.A1.measure: unknown measure 'motorway_minutes'")
               for p in refused(document))


def test_linear_rule_with_equal_thresholds_is_refused(document: dict) -> None:
    document["criteria"]["A3"]["rule"] = {"kind": "linear", "best": 15, "worst": 15}
    assert "criteria.A3.rule: best and worst must differ (both 15)" in refused(document)


def test_plateau_thresholds_out_of_order_are_refused(document: dict) -> None:
    document["criteria"]["E3"]["rule"].update(best_low=0.9, best_high=0.6)
    problems = refused(document)
    assert any(p.startswith("criteria.E3.rule: thresholds must be ordered") for p in problems)


def test_category_scores_are_checked(document: dict) -> None:
    document["criteria"]["B2"]["rule"]["scores"] = {"none": 0, "basic": 20, "fast": 160,
                                                    "fibre": 100}
    problems = refused(document)
    assert "criteria.B2.rule.scores.fast: 160 is outside 0..100" in problems
    assert any(p.startswith("criteria.B2.rule.scores.fibre: unknown value") for p in problems)
    assert "criteria.B2.rule.scores: no score for 'ftth'" in problems


def test_number_rule_for_a_categorical_measure_is_refused(document: dict) -> None:
    document["criteria"]["D1"]["rule"] = {"kind": "linear", "best": 2, "worst": 0}
    assert any(p.startswith("criteria.D1.rule.kind: measure 'readiness' takes values")
               for p in refused(document))


def test_missing_and_unknown_fields_are_named(document: dict) -> None:
    del document["criteria"]["C2"]["rule"]["best"]
    document["profiles"]["services"]["colour"] = "blue"
    problems = refused(document)
    assert "criteria.C2.rule.best: is required" in problems
    assert "profiles.services.colour: is not a field of the standard" in problems


def test_target_size_below_the_rule_floor_is_refused(document: dict) -> None:
    document["criteria"]["C1"]["rule"]["worst"] = 1
    problems = refused(document)
    assert "profiles.services.target_plot_ha: 0.3 must be above criteria.C1.rule.worst (1)" in problems


def test_profile_for_an_unknown_use_is_refused(document: dict) -> None:
    document["profiles"]["logistics"]["use"] = "warehousing"
    assert any(p.startswith("profiles.logistics.use: unknown use 'warehousing'")
               for p in refused(document))


def test_unquoted_yes_no_keys_are_understood(document: dict) -> None:
    # YAML 1.1 reads yes/no as booleans; a hand-written file must still work.
    document["criteria"]["B3"]["rule"]["scores"] = {True: 100, False: 0}
    standard = parse_standard(copy.deepcopy(document))
    assert standard.criteria["B3"].rule.scores == {"yes": 100, "no": 0}


def test_cli_check_accepts_the_shipped_file() -> None:
    result = CliRunner().invoke(app, ["standard", "check", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "valid standard location-standard version 1" in " ".join(result.output.split())


def test_cli_check_refuses_a_broken_file_with_paths(document: dict, tmp_path: Path) -> None:
    document["profiles"]["logistics"]["weights"]["accessibility"] = 30
    document["criteria"]["A1"]["measure"] = "motorway_minutes"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = CliRunner().invoke(app, ["standard", "check", str(broken)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "profiles.logistics.weights: sum is 95, must be 100" in output
    assert "criteria.A1.measure: unknown measure 'motorway_minutes'" in output


def test_cli_check_refuses_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["standard", "check", str(broken)])
    assert result.exit_code == 1
    assert "not valid YAML" in result.output
