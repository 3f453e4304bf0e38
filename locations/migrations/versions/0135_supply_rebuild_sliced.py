"""The land-supply months of a whole trail are counted on every core.

``zone_supply_rebuild()`` (the migrations', the demo's reload and every first bulk load's
count of its trail) called ``supply_contributions`` once over every plot: a sort and a
window over each plot's events, which PostgreSQL runs in one process only, the largest
statement of the synthetic load of a million plots (1.65 million events; 24.7-34.9 s at
load 2-3). ``supply_contributions_sliced`` cuts the plots into one slice per process a
parallel query may use and runs one ``supply_contributions`` call per slice under a
Parallel Append, then adds the slices' sums by zone and month. A plot's contributions
depend on its own events alone and the sums are of numeric, so the months are the same
(``tests/test_first_load_figures.py``, ``tests/test_land_supply.py``).
``supply_contributions`` v4 is v3's query marked ``PARALLEL SAFE`` (it only reads) and
costed as the large query it is, so that the planner gives each call its own process.

Revision ID: 0135
Revises: 0134
"""

from alembic import op

from locations import sql

revision = "0135"
down_revision = "0134"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "supply_contributions", 4)
    sql.apply(conn, "functions", "supply_contributions_sliced", 1)
    sql.apply(conn, "functions", "zone_supply_rebuild", 3)


def downgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_supply_rebuild", 2)
    op.execute("DROP FUNCTION supply_contributions_sliced(bigint[], bigint[])")
    sql.apply(conn, "functions", "supply_contributions", 3)
