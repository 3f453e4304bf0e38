"""Two writers at once, on real connections to a real PostGIS.

A zone redrawn (or moved, or its municipality's border redrawn) while one of its plots is
written: both changes land, with every kept figure and Feature equal to a recomputation.
The plot writer is paused inside its UPDATE (a test trigger waiting on an advisory lock),
after its plot row is locked and before its triggers keep the zone's figures: the moment
a rare interleaving hits, held open so the other writer walks into it.

A deadlock that can still happen (two writers taking the same plots in opposite orders):
the write route's transaction, cancelled by PostgreSQL, runs again and lands once. One
cancelled every time (a test trigger refusing with SQLSTATE 40P01 or 40001) is answered
409 with what to do, never 500, with nothing written, on the API and on the editor's form.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from locations import attachments, transactions
from locations.accounts import account_by_name, create_account
from locations.errors import WriteConflict
from locations.plot_updates import update_plot
from tests.desk_files import png
from tests.test_plot_updates import make_account, plot_state
from tests.test_write_matrix import form_of, signed_in
from tests.test_zone_feature import assert_kept_equals_fresh

PAUSE_LOCK = 4242

#: A statement trigger on plot that fires before every other (triggers fire by name) and,
#: in a transaction that asked for it, waits until the test lets it go.
PAUSE_TRIGGER = f"""
    CREATE FUNCTION test_pause_plot_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('test.pause_plot_write', true) = 'on' THEN
            PERFORM pg_advisory_xact_lock_shared({PAUSE_LOCK});
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER a_test_pause_plot_write AFTER UPDATE ON plot
        FOR EACH STATEMENT EXECUTE FUNCTION test_pause_plot_write();
"""


@pytest.fixture
def paused_plot_writes(fresh_engine: Engine) -> Iterator[Engine]:
    with fresh_engine.begin() as conn:
        conn.exec_driver_sql(PAUSE_TRIGGER)
    yield fresh_engine


def _wait_for(engine: Engine, pid: int, what: str) -> None:
    """Until backend ``pid`` waits for a lock (``what``: its wait event, e.g. advisory)."""
    with engine.connect() as conn:
        for _ in range(400):
            event = conn.execute(text(
                "SELECT wait_event FROM pg_stat_activity WHERE pid = :p "
                "AND wait_event_type = 'Lock'"), {"p": pid}).scalar_one_or_none()
            if event is not None and (what == "any" or event == what):
                return
            time.sleep(0.025)
    raise AssertionError(f"backend {pid} never waited for {what}")


class Writer(threading.Thread):
    """One transaction on its own connection, in a thread; its error kept for the test."""

    def __init__(self, engine: Engine, work: Callable[[Connection], None]) -> None:
        super().__init__(daemon=True)
        self.conn = engine.connect()
        self.pid = self.conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        self.conn.rollback()
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.conn.begin():
                self.work(self.conn)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.conn.close()


def _plots_placed_as_computed(engine: Engine) -> int:
    """Plots whose kept municipality is not the one computed from their zone now."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM plot "
            "WHERE municipality_id IS DISTINCT FROM plot_municipality(zone_id, boundary)"
        )).scalar_one()


#: Ways a zone's plots come to lie in another municipality: the SQL, given :zone and :lead
#: (the zone's municipality) and :other (a municipality it does not lie in), and the zone.
REDRAWS = {
    # A shared zone redrawn inside its lead municipality: its plots in the neighbour's
    # part pass to the lead (what a zone import writes).
    "zone redrawn": ("shared", """
        UPDATE zone z SET boundary = ST_Multi(ST_CollectionExtract(
            ST_Intersection(z.boundary, m.boundary), 3))
        FROM municipality m WHERE m.id = :lead AND z.id = :zone"""),
    # A zone given to another municipality (a municipality import moves zones by position).
    "zone moved": ("single", "UPDATE zone SET municipality_id = :other WHERE id = :zone"),
    # The neighbour's border redrawn to leave the shared zone out: every zone's
    # municipalities are computed again (a municipality boundary import).
    "municipality redrawn": ("shared", """
        UPDATE municipality m SET boundary = ST_Multi(ST_CollectionExtract(
            ST_Difference(m.boundary, z.boundary), 3))
        FROM zone z, zone_municipality zm
        WHERE z.id = :zone AND zm.zone_id = z.id AND zm.municipality_id = m.id
          AND m.id <> :lead"""),
}


def _zone_and_plot(conn: Connection, kind: str) -> dict:
    """A zone (shared by two municipalities or in one) and an available plot of it that the
    redraw moves to another municipality."""
    shared = "HAVING count(*) > 1" if kind == "shared" else "HAVING count(*) = 1"
    return dict(conn.execute(text(f"""
        SELECT z.id AS zone, z.municipality_id AS lead, p.id AS plot, p.version,
               (SELECT min(m.id) FROM municipality m WHERE m.id <> z.municipality_id
                AND m.country = (SELECT country FROM municipality WHERE id = z.municipality_id))
                   AS other
        FROM zone z JOIN plot p ON p.zone_id = z.id
        WHERE z.id IN (SELECT zone_id FROM zone_municipality GROUP BY zone_id {shared})
          AND p.status = 'available' AND p.retired_at IS NULL
          AND (:kind = 'single' OR p.municipality_id <> z.municipality_id)
        ORDER BY z.id, p.id LIMIT 1"""), {"kind": kind}).mappings().one())


@pytest.mark.parametrize("redraw", list(REDRAWS))
def test_a_zone_redrawn_while_its_plot_is_written_both_land(paused_plot_writes: Engine,
                                                            redraw: str) -> None:
    engine = paused_plot_writes
    kind, statement = REDRAWS[redraw]
    with engine.begin() as conn:
        create_account(conn, "conflict admin", "admin")
        admin = account_by_name(conn, "conflict admin")
        target = _zone_and_plot(conn, kind)
        municipality_before = conn.execute(text(
            "SELECT municipality_id FROM plot WHERE id = :p"), {"p": target["plot"]}).scalar_one()

    def write_plot(conn: Connection) -> None:
        conn.execute(text("SET LOCAL test.pause_plot_write = 'on'"))
        update_plot(conn, admin, target["plot"], target["version"], {"status": "reserved"})

    def redraw_zone(conn: Connection) -> None:
        conn.execute(text(statement), target)

    with engine.connect() as gate:
        gate.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PAUSE_LOCK})
        plot_writer = Writer(engine, write_plot)
        plot_writer.start()
        _wait_for(engine, plot_writer.pid, "advisory")  # the plot row is locked, the zone not
        zone_writer = Writer(engine, redraw_zone)
        zone_writer.start()
        _wait_for(engine, zone_writer.pid, "transactionid")  # waits for the plot's row
        gate.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PAUSE_LOCK})
        gate.commit()
        plot_writer.join(30)
        zone_writer.join(30)
    assert not plot_writer.is_alive() and not zone_writer.is_alive()
    assert plot_writer.error is None, str(plot_writer.error)
    assert zone_writer.error is None, str(zone_writer.error)

    with engine.connect() as conn:
        status, municipality = conn.execute(text(
            "SELECT status, municipality_id FROM plot WHERE id = :p"),
            {"p": target["plot"]}).one()
    assert status == "reserved"
    assert municipality != municipality_before  # the redraw did move the written plot
    assert _plots_placed_as_computed(engine) == 0
    assert_kept_equals_fresh(engine)


# -- a deadlock that can still happen: the write runs again ---------------------------------------


def _two_available_plots_of_one_zone(conn: Connection) -> tuple:
    """Two available plots of a zone lying in one municipality, with their versions."""
    return tuple(conn.execute(text("""
        SELECT p.id, p.version FROM plot p
        WHERE p.zone_id = (
            SELECT q.zone_id FROM plot q
            WHERE q.status = 'available' AND q.retired_at IS NULL
              AND q.zone_id IN (SELECT zone_id FROM zone_municipality
                                GROUP BY zone_id HAVING count(*) = 1)
            GROUP BY q.zone_id HAVING count(*) >= 2 ORDER BY q.zone_id LIMIT 1)
          AND p.status = 'available' AND p.retired_at IS NULL
        ORDER BY p.id LIMIT 2""")).all())


def _pid_waiting_in(engine: Engine, query_start: str, other_than: int) -> int:
    """The backend whose statement starts with ``query_start``, once it waits for a lock."""
    with engine.connect() as conn:
        for _ in range(400):
            pid = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> :other AND wait_event_type = 'Lock' AND query LIKE :start"),
                {"other": other_than, "start": query_start + "%"}).scalar()
            conn.rollback()
            if pid is not None:
                return pid
            time.sleep(0.025)
    raise AssertionError(f"no statement {query_start!r} ever waited for a lock")


def test_a_write_cancelled_for_a_deadlock_runs_again_and_lands_once(
        fresh_engine: Engine, fresh_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """PATCH /plots/{p} while another editor's transaction, having written plot q of the same
    zone, attaches a file to p: each waits for the other. PostgreSQL cancels the one that
    waited first, the API's; its transaction runs again once the other has gone on."""
    caplog.set_level(logging.INFO, logger="locations.transactions")
    # Time for the other editor to walk into the wait however loaded the machine is.
    with fresh_engine.connect() as conn:
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'ALTER DATABASE "{database}" SET deadlock_timeout = \'3s\''))
        conn.commit()
    fresh_engine.dispose()
    headers = make_account(fresh_engine, "conflict api admin", "admin")
    with fresh_engine.begin() as conn:
        create_account(conn, "conflict other editor", "admin")
        other_editor = account_by_name(conn, "conflict other editor")
        (p, p_version), (q, q_version) = _two_available_plots_of_one_zone(conn)
    before = plot_state(fresh_engine, p)

    wrote_q, api_waits = threading.Event(), threading.Event()

    def other_editors_transaction(conn: Connection) -> None:
        update_plot(conn, other_editor, q, q_version, {"status": "reserved"})
        wrote_q.set()
        assert api_waits.wait(60)
        attachments.add(conn, other_editor, p, png(), "site.png", "the site from the road")

    other = Writer(fresh_engine, other_editors_transaction)
    other.start()
    assert wrote_q.wait(60)
    answers: list = []
    api = threading.Thread(target=lambda: answers.append(fresh_client.patch(
        f"/plots/{p}", json={"status": "reserved"},
        headers=headers | {"If-Match": f'"{p_version}"'})), daemon=True)
    api.start()
    # The API has locked p and waits for the other editor's figures of the zone ...
    _pid_waiting_in(fresh_engine, "UPDATE plot SET status", other_than=other.pid)
    api_waits.set()  # ... who now waits for p: a deadlock.
    api.join(60)
    other.join(60)

    assert other.error is None, str(other.error)
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["properties"]["status"] == "reserved"
    assert "running it again" in caplog.text  # the API's first attempt was the one cancelled
    after = plot_state(fresh_engine, p)
    assert after["status"] == "reserved" and after["version"] == before["version"] + 1
    with fresh_engine.connect() as conn:
        events = conn.execute(text(
            "SELECT new_values FROM plot_event WHERE plot_id = :p ORDER BY id DESC LIMIT 2"),
            {"p": p}).scalars().all()
        q_status = conn.execute(text("SELECT status FROM plot WHERE id = :q"),
                                {"q": q}).scalar_one()
    # Each change once: the cancelled attempt left no event behind.
    assert after["events"] == before["events"] + 2
    assert sorted(events, key=str) == [{"attachment": "site.png"}, {"status": "reserved"}]
    assert q_status == "reserved"
    assert_kept_equals_fresh(fresh_engine)


# -- cancelled every time: 409, nothing written -----------------------------------------------------


def _cancel_every_audit_write(engine: Engine, sqlstate: str) -> None:
    """A trigger refusing every plot event as PostgreSQL refuses a transaction it cancels
    (SQLSTATE ``sqlstate``), counting the attempts in a sequence (not rolled back)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
            CREATE SEQUENCE test_audit_attempts;
            CREATE FUNCTION test_cancel_audit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM nextval('test_audit_attempts');
                RAISE EXCEPTION 'cancelled for another transaction' USING ERRCODE = '{sqlstate}';
            END $$;
            CREATE TRIGGER test_cancel_audit BEFORE INSERT ON plot_event
                FOR EACH ROW EXECUTE FUNCTION test_cancel_audit();
        """)


def _attempts(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT last_value FROM test_audit_attempts")).scalar_one()


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_write_cancelled_every_time_is_refused_with_409_and_writes_nothing(
        fresh_engine: Engine, fresh_client: TestClient, sqlstate: str) -> None:
    headers = make_account(fresh_engine, "conflict admin", "admin")
    with fresh_engine.connect() as conn:
        (plot_id, version), _ = _two_available_plots_of_one_zone(conn)
    _cancel_every_audit_write(fresh_engine, sqlstate)
    before = plot_state(fresh_engine, plot_id)

    answer = fresh_client.patch(f"/plots/{plot_id}", json={"status": "reserved"},
                                headers=headers | {"If-Match": f'"{version}"'})

    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == transactions.CONFLICT_MESSAGE
    assert answer.headers["Retry-After"] == "1"
    assert "cancelled for another transaction" not in answer.text  # nothing of the server's
    assert _attempts(fresh_engine) == transactions.ATTEMPTS
    assert plot_state(fresh_engine, plot_id) == before
    assert_kept_equals_fresh(fresh_engine)


def test_the_editor_s_form_cancelled_every_time_comes_back_as_sent(fresh_engine: Engine) -> None:
    """The workspace form: 409, the form again with the editor's values and, in their
    language, that nothing was saved and to save again."""
    from api.app import create_app

    with fresh_engine.begin() as conn:
        create_account(conn, "conflict form admin", "admin")
        (plot_id, _), _ = _two_available_plots_of_one_zone(conn)
    browser, _csrf = signed_in(create_app(fresh_engine), fresh_engine, "conflict form admin")
    try:
        path = f"/maps/my/plots/{plot_id}"
        fields = form_of(browser, path + "?lang=de", path)
        _cancel_every_audit_write(fresh_engine, "40P01")
        before = plot_state(fresh_engine, plot_id)
        answer = browser.post(path + "?lang=de", data={**fields, "status": "reserved",
                                                       "price_eur_m2": "87.5"},
                              headers={"Accept": "text/html"})
    finally:
        browser.__exit__(None, None, None)
    assert answer.status_code == 409
    assert "Bitte speichern Sie erneut" in answer.text
    assert re.search(r'name="price_eur_m2"[^>]*value="87.5"', answer.text)
    assert _attempts(fresh_engine) == transactions.ATTEMPTS
    assert plot_state(fresh_engine, plot_id) == before


def test_a_write_route_not_run_again_still_answers_409_not_500(fresh_engine: Engine,
                                                               fresh_client: TestClient) -> None:
    """Any other write PostgreSQL cancels (an investor's inquiry here): 409 saying to send it
    again, nothing stored."""
    with fresh_engine.begin() as conn:
        plot_id = conn.execute(text("SELECT id FROM plot WHERE retired_at IS NULL "
                                    "ORDER BY id LIMIT 1")).scalar_one()
        conn.exec_driver_sql("""
            CREATE FUNCTION test_cancel_inquiry() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'cancelled' USING ERRCODE = '40001'; END $$;
            CREATE TRIGGER test_cancel_inquiry BEFORE INSERT ON inquiry
                FOR EACH ROW EXECUTE FUNCTION test_cancel_inquiry();
        """)
    answer = fresh_client.post(f"/maps/plots/{plot_id}/inquiry?lang=en", data={
        "name": "Ana Novak", "company": "Novak d.o.o.", "email": "ana@example.com",
        "message": "Is it still free?", "consent": "yes"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == transactions.CONFLICT_MESSAGE
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inquiry")).scalar_one() == 0


# -- locations.transactions.write itself --------------------------------------------------------------


def test_write_runs_a_cancelled_transaction_again_and_nothing_else(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        conn.execute(text("CREATE TABLE test_written (n integer)"))
    calls: list[int] = []

    def work(cancelled_times: int, sqlstate: str = "40P01") -> Callable[[Connection], int]:
        def run(conn: Connection) -> int:
            calls.append(1)
            conn.execute(text("INSERT INTO test_written VALUES (:n)"), {"n": len(calls)})
            if len(calls) <= cancelled_times:
                conn.exec_driver_sql(f"DO $$ BEGIN RAISE EXCEPTION 'cancelled' "
                                     f"USING ERRCODE = '{sqlstate}'; END $$")
            return len(calls)
        return run

    def written() -> list[int]:
        with fresh_engine.connect() as conn:
            return conn.execute(text("SELECT n FROM test_written ORDER BY n")).scalars().all()

    assert transactions.write(fresh_engine, work(1)) == 2  # cancelled once, then committed
    assert written() == [2]

    calls.clear()
    with pytest.raises(WriteConflict):
        transactions.write(fresh_engine, work(5, "40001"), attempts=2)
    assert len(calls) == 2 and written() == [2]

    # Any other error is the caller's: not run again.
    calls.clear()
    with pytest.raises(DBAPIError) as refused:
        transactions.write(fresh_engine, work(5, "23505"))
    assert len(calls) == 1 and refused.value.orig.pgcode == "23505" and written() == [2]
