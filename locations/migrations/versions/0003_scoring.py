"""Scoring against the location standard: standards, runs, plot and zone scores, kept site metrics.

A run stores, per plot, the raw value and the 0-100 score of every criterion
as two ``real[]`` arrays in the order the run names (``score_run.criteria``),
with the run's weights beside them; ``plot_score_detail`` turns them into a
jsonb breakdown on read. Arrays rather than stored jsonb because a run writes
a row per plot: for a million plots a jsonb breakdown took 47 s and 1.3 GB,
the arrays 2.5 s and 260 MB (measured on the development machine).

``plot_site_metrics`` keeps what is costly and changes seldom (shape,
constraint shares, population within 30 km): a run fills rows that are
missing, and triggers delete the rows a change makes stale.

Revision ID: 0003
Revises: 0001
"""

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE standard (
            id              serial PRIMARY KEY,
            name            text NOT NULL,
            version         text NOT NULL,
            digest          text NOT NULL,
            document        jsonb NOT NULL,
            registered_at   timestamptz NOT NULL DEFAULT now(),
            UNIQUE (name, version, digest)
        );

        CREATE TABLE score_run (
            id              bigserial PRIMARY KEY,
            standard_id     integer NOT NULL REFERENCES standard (id) ON DELETE RESTRICT,
            profile         text NOT NULL,
            region_code     text,
            as_of           date NOT NULL,
            requested_by    text NOT NULL,
            status          text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'finished', 'failed')),
            started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
            finished_at     timestamptz,
            criteria        text[] NOT NULL,
            weights         double precision[] NOT NULL,
            plot_count      integer,
            zone_count      integer,
            error           text,
            CONSTRAINT score_run_weights_match CHECK (cardinality(criteria) = cardinality(weights)),
            CONSTRAINT score_run_finished_has_time
                CHECK (status <> 'finished' OR finished_at IS NOT NULL)
        );
        CREATE INDEX score_run_latest_idx ON score_run (profile, finished_at DESC)
            WHERE status = 'finished';

        -- No foreign keys: a run is a record of what was scored, and checking two keys per
        -- row cost a million-plot run about 10 s. Plots are retired, not deleted; a deleted
        -- run takes its plot scores along (trigger below).
        CREATE TABLE plot_score (
            run_id          bigint NOT NULL,
            plot_id         bigint NOT NULL,
            total           real NOT NULL CHECK (total BETWEEN 0 AND 100),
            completeness    real NOT NULL CHECK (completeness BETWEEN 0 AND 1),
            passed          boolean NOT NULL,
            gates_failed    text[] NOT NULL,
            raw             real[] NOT NULL,
            score           real[] NOT NULL,
            PRIMARY KEY (run_id, plot_id)
        );
        -- Reads go by run (the newest runs are known first), so the primary key is the only
        -- index: a second one on plot_id cost every run a million more index entries.

        CREATE FUNCTION score_run_drop_plot_scores() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM plot_score WHERE run_id = OLD.id;
            RETURN OLD;
        END $$;
        CREATE TRIGGER score_run_plot_scores BEFORE DELETE ON score_run
            FOR EACH ROW EXECUTE FUNCTION score_run_drop_plot_scores();

        CREATE TABLE zone_score (
            run_id              bigint NOT NULL REFERENCES score_run (id) ON DELETE CASCADE,
            zone_id             integer NOT NULL,
            plot_count          integer NOT NULL,
            available_plots     integer NOT NULL,
            available_area_m2   double precision NOT NULL,
            best_plot_id        bigint,
            best_total          real,
            mean_total          real,
            criteria            jsonb NOT NULL,
            PRIMARY KEY (run_id, zone_id)
        );

        -- Each plot's score from the latest finished run of each profile that scored it.
        -- Only the newest run per profile and scope (all regions, or one) can hold a current
        -- score, so the view reads a handful of runs by key instead of sorting every score
        -- ever stored; a plot in a newer regional run takes that run's score.
        CREATE VIEW current_plot_score AS
        WITH latest AS (
            SELECT DISTINCT ON (profile, region_code) id, profile, finished_at
            FROM score_run
            WHERE status = 'finished'
            ORDER BY profile, region_code, finished_at DESC, id DESC
        )
        SELECT ps.plot_id, l.profile, ps.total, ps.run_id
        FROM latest l
        JOIN plot_score ps ON ps.run_id = l.id
        WHERE NOT EXISTS (
            SELECT 1 FROM latest newer
            JOIN plot_score newer_score
              ON newer_score.run_id = newer.id AND newer_score.plot_id = ps.plot_id
            WHERE newer.profile = l.profile
              AND (newer.finished_at, newer.id) > (l.finished_at, l.id)
        );

        -- The stored arrays as a readable breakdown, for SQL users and reports.
        CREATE VIEW plot_score_detail AS
        SELECT ps.run_id, ps.plot_id, r.profile, ps.total, ps.completeness, ps.passed,
               ps.gates_failed,
               (SELECT jsonb_agg(jsonb_build_object(
                           'id', c.id, 'raw', ps.raw[c.n], 'score', ps.score[c.n],
                           'weight', r.weights[c.n],
                           'contribution', ps.score[c.n] * r.weights[c.n] / 100)
                        ORDER BY c.n)
                  FROM unnest(r.criteria) WITH ORDINALITY AS c (id, n)) AS breakdown,
               ARRAY(SELECT c.id FROM unnest(r.criteria) WITH ORDINALITY AS c (id, n)
                     WHERE ps.raw[c.n] IS NULL ORDER BY c.n) AS missing
        FROM plot_score ps
        JOIN score_run r ON r.id = ps.run_id;

        CREATE TABLE plot_site_metrics (
            plot_id             bigint PRIMARY KEY REFERENCES plot (id) ON DELETE CASCADE,
            compactness         double precision NOT NULL,
            constraint_share    double precision NOT NULL,
            flood_high_share    double precision NOT NULL,
            labour_pool         bigint,
            computed_at         timestamptz NOT NULL DEFAULT now()
        );

        -- A moved boundary changes shape, constraint shares and neighbours.
        CREATE FUNCTION plot_site_metrics_plot_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM plot_site_metrics m USING new_plots n, old_plots o
            WHERE m.plot_id = n.id AND o.id = n.id AND NOT ST_Equals(n.boundary, o.boundary);
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_site_metrics_plot AFTER UPDATE ON plot
            REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION plot_site_metrics_plot_changed();

        -- A constraint area that appears, moves or goes: the plots it touches(ed) are stale.
        CREATE FUNCTION plot_site_metrics_constraint_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM plot_site_metrics m USING plot p
            WHERE m.plot_id = p.id
              AND ((TG_OP <> 'INSERT' AND ST_Intersects(p.boundary, OLD.boundary))
                OR (TG_OP <> 'DELETE' AND ST_Intersects(p.boundary, NEW.boundary)));
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_site_metrics_constraint
            AFTER INSERT OR UPDATE OR DELETE ON constraint_area
            FOR EACH ROW EXECUTE FUNCTION plot_site_metrics_constraint_changed();

        -- A municipality's population or seat changes the labour pool around it.
        CREATE FUNCTION plot_site_metrics_municipality_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM plot_site_metrics m USING plot p
            WHERE m.plot_id = p.id
              AND ((TG_OP <> 'INSERT' AND ST_DWithin(p.boundary, OLD.seat, 30000))
                OR (TG_OP <> 'DELETE' AND ST_DWithin(p.boundary, NEW.seat, 30000)));
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_site_metrics_municipality
            AFTER INSERT OR DELETE OR UPDATE OF population, seat ON municipality
            FOR EACH ROW EXECUTE FUNCTION plot_site_metrics_municipality_changed();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER plot_site_metrics_municipality ON municipality;
        DROP TRIGGER plot_site_metrics_constraint ON constraint_area;
        DROP TRIGGER plot_site_metrics_plot ON plot;
        DROP FUNCTION plot_site_metrics_municipality_changed();
        DROP FUNCTION plot_site_metrics_constraint_changed();
        DROP FUNCTION plot_site_metrics_plot_changed();
        DROP TABLE plot_site_metrics;
        DROP VIEW plot_score_detail, current_plot_score;
        DROP TRIGGER score_run_plot_scores ON score_run;
        DROP FUNCTION score_run_drop_plot_scores();
        DROP TABLE zone_score, plot_score, score_run, standard;
        """
    )
