"""plot_proximity_fill(): the distances of a first load, computed on every core.

``plot_proximity_refresh`` (0013) computes and upserts the distances in one
``INSERT``, which PostgreSQL runs on one core. A first load brings every plot at
once and ``plot_proximity`` is empty, so this function computes them in a
``CREATE TABLE AS``, which PostgreSQL may run with parallel workers, and inserts
them without the upsert's check per row. The cells, candidates and distances are
0013's own (the same SQL), so the results are the same.

The candidates per cell go into a table of this transaction, not a temporary
one: parallel workers cannot read temporary tables. It is dropped at the end,
and with the transaction if it fails.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

from locations.migrations.siblings import load_migration

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Migration 0013, whose cells, candidates and distances this one uses.
    by_kind = load_migration("0013_proximity_by_kind_index.py")
    cell_m = by_kind._proximity_by_cell().CELL_M
    kinds = list(by_kind.KINDS)
    cell_of = (f"floor(ST_XMin(boundary) / {cell_m})::int AS gx, "
               f"floor(ST_YMin(boundary) / {cell_m})::int AS gy")
    op.execute(
        f"""
        CREATE FUNCTION plot_proximity_fill() RETURNS void LANGUAGE plpgsql SET jit = off AS $$
        DECLARE
            targets text := 'plot_proximity_targets_' || pg_backend_pid();
        BEGIN
            IF EXISTS (SELECT 1 FROM plot_proximity) THEN
                RAISE EXCEPTION 'plot_proximity_fill() fills an empty plot_proximity; '
                    'plot_proximity_refresh() updates one';
            END IF;
            EXECUTE format($sql$
                CREATE TABLE %I AS
                WITH plots AS (SELECT boundary, {cell_of} FROM plot),
                {by_kind.cells_and_targets("plots")}
                SELECT * FROM targets
            $sql$, targets);
            EXECUTE format('ANALYZE %I', targets);
            EXECUTE format($sql$
                CREATE TEMP TABLE plot_proximity_filled AS
                SELECT p.id, {by_kind.distances("p", named=True)}
                FROM (SELECT id, boundary, {cell_of} FROM plot) p
                LEFT JOIN %I t ON t.gx = p.gx AND t.gy = p.gy
            $sql$, targets);
            INSERT INTO plot_proximity (plot_id, {", ".join(f"{k}_km" for k in kinds)}, computed_at)
            SELECT *, now() FROM plot_proximity_filled;
            DROP TABLE plot_proximity_filled;
            EXECUTE format('DROP TABLE %I', targets);
        END $$;
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION plot_proximity_fill()")
