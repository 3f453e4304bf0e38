"""Each profile's current scores kept as figures per zone and municipality, a histogram of
them, and each municipality's available area.

The comparison of regions by score (``/regions/compare``) and the comparison page shaded by
score read every current plot score with its plot on each request, to count, average and
take the median per region: 0.8 and 1.2 s at a million plots on a quiet machine. The
figures they need are now kept for each profile's current runs (``score_summary_run``):
``score_summary`` per zone and the plots' own municipality (ranked plots, their area and
their area above 60, scored plots and the sum of their scores) and ``score_histogram`` (the ranked plots'
scores in hundredths of a point, a row per municipality and whole point), from which a
region's count, bands, median and best are found by reading a few hundred rows and the
plots of one hundredth of a point. A finished run writes them (``score_summary_fill``) and
statement triggers on plot keep them through every write, so they stay what a computation
from the scores and plots gives. The comparison's available area per region was an
index-only scan over every available plot (0127; 0.45-0.6 s under load): each
municipality's available plots and their area are kept in ``municipality_available`` by the
same triggers.

Revision ID: 0130
Revises: 0129
"""

from alembic import op

from locations import sql

revision = "0130"
down_revision = "0129"
branch_labels = None
depends_on = None

_FUNCTIONS = ("municipality_available_add", "score_histogram_add", "score_summary_add", "score_summary_fill",
              "score_summary_after_insert", "score_summary_after_update",
              "score_summary_after_delete", "score_summary_after_truncate")
_TRIGGERS = ("score_summary_insert", "score_summary_update", "score_summary_delete",
             "score_summary_truncate")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE score_summary_run (
            run_id bigint NOT NULL,
            profile text NOT NULL,
            ranked_runs bigint[] NOT NULL,
            scored_runs bigint[] NOT NULL,
            max_plot_id bigint NOT NULL,
            CONSTRAINT score_summary_run_pkey PRIMARY KEY (run_id),
            CONSTRAINT score_summary_run_profile_key UNIQUE (profile),
            CONSTRAINT score_summary_run_run_id_fkey
                FOREIGN KEY (run_id) REFERENCES score_run (id) ON DELETE CASCADE
        )
    """)
    op.execute("""
        CREATE TABLE score_summary (
            run_id bigint NOT NULL,
            zone_id integer NOT NULL,
            municipality_id integer NOT NULL,
            ranked_plots integer NOT NULL,
            ranked_area_m2 numeric NOT NULL,
            above_60_m2 numeric NOT NULL,
            scored_plots integer NOT NULL,
            score_sum numeric NOT NULL,
            CONSTRAINT score_summary_pkey PRIMARY KEY (run_id, zone_id, municipality_id),
            CONSTRAINT score_summary_run_id_fkey FOREIGN KEY (run_id)
                REFERENCES score_summary_run (run_id) ON DELETE CASCADE,
            CONSTRAINT score_summary_zone_id_fkey FOREIGN KEY (zone_id)
                REFERENCES zone (id) ON DELETE CASCADE,
            CONSTRAINT score_summary_municipality_id_fkey FOREIGN KEY (municipality_id)
                REFERENCES municipality (id) ON DELETE CASCADE
        )
    """)
    op.execute("""
        CREATE TABLE score_histogram (
            run_id bigint NOT NULL,
            municipality_id integer NOT NULL,
            coarse smallint NOT NULL,
            plots integer NOT NULL,
            fine integer[] NOT NULL,
            CONSTRAINT score_histogram_pkey PRIMARY KEY (run_id, municipality_id, coarse),
            CONSTRAINT score_histogram_fine_check CHECK (cardinality(fine) = 100),
            CONSTRAINT score_histogram_run_id_fkey FOREIGN KEY (run_id)
                REFERENCES score_summary_run (run_id) ON DELETE CASCADE,
            CONSTRAINT score_histogram_municipality_id_fkey FOREIGN KEY (municipality_id)
                REFERENCES municipality (id) ON DELETE CASCADE
        )
    """)
    op.execute("""
        CREATE TABLE municipality_available (
            municipality_id integer NOT NULL,
            plots integer NOT NULL,
            area_m2 numeric NOT NULL,
            CONSTRAINT municipality_available_pkey PRIMARY KEY (municipality_id),
            CONSTRAINT municipality_available_municipality_id_fkey FOREIGN KEY (municipality_id)
                REFERENCES municipality (id) ON DELETE CASCADE
        )
    """)
    op.execute("""
        INSERT INTO municipality_available (municipality_id, plots, area_m2)
        SELECT municipality_id, count(*), sum(area_m2::numeric) FROM plot
        WHERE status = 'available' AND retired_at IS NULL
        GROUP BY municipality_id
    """)
    conn = op.get_bind()
    for name in _FUNCTIONS:
        sql.apply(conn, "functions", name, 1)
    for name in _TRIGGERS:
        sql.apply(conn, "triggers", name, 1)
    op.execute("SELECT score_summary_fill(profile) FROM "
               "(SELECT DISTINCT profile FROM score_run WHERE status = 'finished') scored")


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON plot")
    op.execute("DROP FUNCTION score_summary_after_truncate()")
    op.execute("DROP FUNCTION score_summary_after_delete()")
    op.execute("DROP FUNCTION score_summary_after_update()")
    op.execute("DROP FUNCTION score_summary_after_insert()")
    op.execute("DROP FUNCTION score_summary_fill(text)")
    op.execute("DROP FUNCTION score_summary_add(bigint, bigint[], integer[], integer[], "
               "boolean[], boolean[], double precision[], integer[])")
    op.execute("DROP FUNCTION score_histogram_add(bigint, integer[], integer[], integer[])")
    op.execute("DROP FUNCTION municipality_available_add(integer[], double precision[], "
               "integer[])")
    op.execute("DROP TABLE municipality_available")
    op.execute("DROP TABLE score_histogram")
    op.execute("DROP TABLE score_summary")
    op.execute("DROP TABLE score_summary_run")
