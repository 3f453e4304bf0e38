"""A plot's area and web-mercator copy are kept by a row trigger, which an importer that
computed them already may skip.

0001 and 0009 made ``area_m2`` and ``boundary_3857`` generated columns. PostgreSQL
computes those in the inserting backend, one row after another: in a first load of a
million plots, the one ``INSERT`` spent about 8 s transforming and measuring boundaries,
on one of two cores. The importer builds its resolved rows with parallel workers, where
the same two computations add 2-4.5 s; it can hand them on, but a generated column
accepts no value. Measured on two cores, the insert went from 18 s to 11.5-12.5 s and the
whole import gained a few seconds (the parallel step is the wider for it).

So both are plain columns now, ``NOT NULL``, set by ``plot_geometry_derive()``:

- before every ``INSERT``, unless the transaction-local setting
  ``locations.plot_geometry_given`` is ``on`` (the importer's, set for its one insert of
  values computed by the same two functions in the same transaction, as
  ``locations.plot_country_given`` is set for countries since 0008);
- before every ``UPDATE`` that names ``boundary``, ``area_m2`` or ``boundary_3857``,
  always: no setting lets an update supply them.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE plot ALTER COLUMN area_m2 DROP EXPRESSION,
                         ALTER COLUMN boundary_3857 DROP EXPRESSION;
        ALTER TABLE plot ALTER COLUMN area_m2 SET NOT NULL,
                         ALTER COLUMN boundary_3857 SET NOT NULL;

        CREATE FUNCTION plot_geometry_derive() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.area_m2 := ST_Area(NEW.boundary);
            NEW.boundary_3857 := ST_Transform(NEW.boundary, 3857);
            RETURN NEW;
        END $$;

        -- The setting is tested in the trigger's WHEN, not in the function: a skipped row
        -- then costs no function call at all.
        CREATE TRIGGER plot_geometry_insert BEFORE INSERT ON plot FOR EACH ROW
            WHEN (current_setting('locations.plot_geometry_given', true) IS DISTINCT FROM 'on')
            EXECUTE FUNCTION plot_geometry_derive();
        CREATE TRIGGER plot_geometry_update
            BEFORE UPDATE OF boundary, area_m2, boundary_3857 ON plot FOR EACH ROW
            EXECUTE FUNCTION plot_geometry_derive();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER plot_geometry_update ON plot;
        DROP TRIGGER plot_geometry_insert ON plot;
        DROP FUNCTION plot_geometry_derive();
        -- PostgreSQL cannot make a column generated again: both are added back as 0001 and
        -- 0009 made them, with the check and the search index on the area.
        ALTER TABLE plot DROP COLUMN boundary_3857, DROP COLUMN area_m2;
        ALTER TABLE plot
            ADD COLUMN area_m2 double precision GENERATED ALWAYS AS (ST_Area(boundary)) STORED,
            ADD COLUMN boundary_3857 geometry(MultiPolygon, 3857)
                GENERATED ALWAYS AS (ST_Transform(boundary, 3857)) STORED,
            ADD CONSTRAINT plot_area_positive CHECK (area_m2 > 0);
        CREATE INDEX plot_search_area_idx ON plot (area_m2, id);
        """
    )
