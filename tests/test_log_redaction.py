"""A database error leaves no personal data in the log: the parameters of the failed
statement (an owner's contact here) are hidden, the statement itself is kept."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def test_a_failed_statement_logs_no_parameters(fresh_engine, caplog):
    from locations.db import get_engine

    engine = get_engine(fresh_engine.url.render_as_string(hide_password=False))
    try:
        caplog.set_level(logging.DEBUG)
        secret = "owner: jana.novak@example.si, +386 40 123 456"
        with pytest.raises(DBAPIError) as failure:
            with engine.begin() as conn:
                conn.execute(text("UPDATE plot SET owner_contact = :c, price_eur_m2 = -1 "
                                  "WHERE id = (SELECT min(id) FROM plot)"), {"c": secret})
        from api.errors import database_failure_response

        answer = database_failure_response(failure.value, "PATCH", "/plots/1")
        assert answer.status_code == 500 and secret.encode() not in answer.body
        assert "plot_price_eur_m2_check" in caplog.text  # the log says what failed ...
        assert "UPDATE plot SET owner_contact" in caplog.text
        assert secret not in caplog.text  # ... and not whose data it was
        assert "jana.novak" not in caplog.text
    finally:
        engine.dispose()
        get_engine.cache_clear()
