"""The synthetic loader writes every plot value as it generated it, by either path (a first
load through the staging table, a top-up by COPY straight into plot): each number to its
last digit, each missing value as NULL, each outline to its last byte, each plot in its
zone's order."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from bench import synthetic
from locations.imports import bulk_rebuild

LOADED = """
SELECT zone_id, country, cadastral_ref, status, ownership, offer, price_eur_m2::text,
       allowed_uses, readiness, brownfield, power_mw, available_from, last_verified,
       owner_contact, internal_note, upper(encode(ST_AsEWKB(boundary), 'hex'))
FROM plot ORDER BY id
"""


def _expected(frame: pd.DataFrame) -> list[tuple]:
    """The rows the database should hold for ``frame``, as ``LOADED`` reads them."""
    def missing(value) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))

    rows = []
    for plot in frame.itertuples(index=False):
        rows.append((
            int(plot.zone_id), plot.country, plot.cadastral_ref, plot.status, plot.ownership,
            plot.offer, None if missing(plot.price_eur_m2) else f"{plot.price_eur_m2:.2f}",
            [u for u in plot.allowed_uses.strip("{}").split(",") if u], plot.readiness,
            bool(plot.brownfield), None if missing(plot.power_mw) else plot.power_mw,
            None if missing(plot.available_from) else plot.available_from,
            None if missing(plot.last_verified) else plot.last_verified,
            None if missing(plot.owner_contact) else plot.owner_contact,
            None if missing(plot.internal_note) else plot.internal_note,
            plot.boundary.upper()))
    return rows


@pytest.mark.parametrize("first_load", [True, False], ids=["first load", "row by row"])
def test_every_plot_is_loaded_as_generated(empty_engine: Engine, monkeypatch,
                                           first_load: bool) -> None:
    generated: dict[str, pd.DataFrame] = {}
    load_plots = synthetic._load_plots

    def keep(engine, plots, **kwargs):
        generated["plots"] = plots.copy()
        return load_plots(engine, plots, **kwargs)

    monkeypatch.setattr(synthetic, "_load_plots", keep)
    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1 if first_load else 10**9)
    # More plots than one COPY chunk, so that the chunks' seams are crossed.
    monkeypatch.setattr(synthetic, "COPY_CHUNK", 700)
    synthetic.generate(empty_engine, 2500, seed=3, history=False)
    frame = generated["plots"]
    # The frame has what could be lost on the way: missing numbers, dates and texts, and
    # plots whose own uses are none (an empty array, not NULL).
    assert frame["price_eur_m2"].isna().any() and frame["available_from"].isna().any()
    assert frame["owner_contact"].isna().any() and (frame["allowed_uses"] == "{}").any()
    with empty_engine.connect() as conn:
        loaded = [tuple(row) for row in conn.execute(text(LOADED))]
    assert loaded == _expected(frame)
