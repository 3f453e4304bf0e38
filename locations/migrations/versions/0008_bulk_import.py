"""Bulk import support: the importer may defer plot proximity and supply plot countries, checked per statement.

A million-plot import spent most of its time in per-row and per-statement work
on ``plot`` that a bulk loader can do once, set-based:

- ``plot_proximity``'s insert and update triggers (0002) return at once while
  the transaction-local setting ``locations.defer_proximity`` is ``on``; the
  importer sets it with ``SET LOCAL`` and then calls ``plot_proximity_refresh``
  once for the plots it wrote, in the same transaction.
- The row trigger ``plot_country`` (0001) derives a plot's country from its
  zone with one query per row. It is skipped for rows that bring a country
  while ``locations.plot_country_given`` is ``on``; a statement-level trigger
  then checks all those rows at once against their zones and refuses the whole
  statement on any mismatch, so the country still always is the zone's.
- ``plot_zone_idx`` (zone_id) and ``plot_area_idx`` (area_m2) are prefixes of
  the search indexes ``plot_search_zone_idx`` (zone_id, id) and
  ``plot_search_area_idx`` (area_m2, id), which serve every query they served;
  each costs a btree insertion per imported plot for nothing.

Revision ID: 0008
Revises: 0001
"""

from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = None
# The proximity trigger functions replaced here are created by 0002.
depends_on = "0002"


#: How this version of the check finds a plot whose country is not its zone's (0014's differs).
WRONG_PLOT = """SELECT n.cadastral_ref, n.country, m.country AS zone_country INTO wrong
            FROM new_plots n
            JOIN zone z ON z.id = n.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE n.country IS DISTINCT FROM m.country
            LIMIT 1;"""


def country_check_function(wrong_plot: str, create: str = "CREATE FUNCTION") -> str:
    """plot_country_check(), refusing the statement when ``wrong_plot`` finds a plot."""
    return f"""{create} plot_country_check() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            wrong record;
        BEGIN
            IF current_setting('locations.plot_country_given', true) IS DISTINCT FROM 'on' THEN
                RETURN NULL;  -- the row trigger derived every country
            END IF;
            {wrong_plot}
            IF FOUND THEN
                RAISE EXCEPTION 'plot % has country %, but its zone lies in %',
                    wrong.cadastral_ref, wrong.country, wrong.zone_country
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END $$;"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION plot_proximity_after_insert() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- A bulk loader that refreshes its plots itself, once, at the end.
            IF current_setting('locations.defer_proximity', true) = 'on' THEN
                RETURN NULL;
            END IF;
            PERFORM plot_proximity_refresh(ARRAY(SELECT id FROM new_plots));
            RETURN NULL;
        END $$;

        CREATE OR REPLACE FUNCTION plot_proximity_after_update() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('locations.defer_proximity', true) = 'on' THEN
                RETURN NULL;
            END IF;
            PERFORM plot_proximity_refresh(ARRAY(
                SELECT n.id FROM new_plots n JOIN old_plots o ON o.id = n.id
                WHERE NOT ST_Equals(n.boundary, o.boundary)));
            RETURN NULL;
        END $$;

        -- The row trigger now runs only where the country is not given and checked per statement.
        DROP TRIGGER plot_country ON plot;
        CREATE TRIGGER plot_country BEFORE INSERT OR UPDATE OF zone_id ON plot
            FOR EACH ROW
            WHEN (NEW.country IS NULL
                  OR current_setting('locations.plot_country_given', true) IS DISTINCT FROM 'on')
            EXECUTE FUNCTION plot_set_country();

        {country_check_function(WRONG_PLOT)}
        CREATE TRIGGER plot_country_check_insert AFTER INSERT ON plot
            REFERENCING NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION plot_country_check();
        CREATE TRIGGER plot_country_check_update AFTER UPDATE ON plot
            REFERENCING NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION plot_country_check();

        DROP INDEX plot_zone_idx, plot_area_idx;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE INDEX plot_zone_idx ON plot (zone_id);
        CREATE INDEX plot_area_idx ON plot (area_m2);

        DROP TRIGGER plot_country_check_update ON plot;
        DROP TRIGGER plot_country_check_insert ON plot;
        DROP FUNCTION plot_country_check();
        DROP TRIGGER plot_country ON plot;
        CREATE TRIGGER plot_country BEFORE INSERT OR UPDATE OF zone_id ON plot
            FOR EACH ROW EXECUTE FUNCTION plot_set_country();

        CREATE OR REPLACE FUNCTION plot_proximity_after_insert() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM plot_proximity_refresh(ARRAY(SELECT id FROM new_plots));
            RETURN NULL;
        END $$;

        CREATE OR REPLACE FUNCTION plot_proximity_after_update() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM plot_proximity_refresh(ARRAY(
                SELECT n.id FROM new_plots n JOIN old_plots o ON o.id = n.id
                WHERE NOT ST_Equals(n.boundary, o.boundary)));
            RETURN NULL;
        END $$;
        """
    )
