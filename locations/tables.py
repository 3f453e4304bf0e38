"""The platform's tables, declared once with SQLAlchemy Core and GeoAlchemy2.

The code takes table and column names from here; migrations change the database,
and a test runs ``alembic check`` so this declaration and a migrated database
never drift apart. Geometry is stored in EPSG:3035 (``STORAGE_SRID``). Spatial
indexes are declared explicitly (``spatial_index=False``) so each keeps the name
the migrations gave it. Functions, triggers and views are not tables: they live
one per file in ``locations/sql``.
"""

from __future__ import annotations

from geoalchemy2.types import Geometry
from sqlalchemy import (
    CHAR,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

from locations.limits import MAX_ATTACHMENT_BYTES, MAX_STAGED_BYTES
from locations.vocabulary import (
    ATTACHMENT_KIND,
    BROADBAND,
    CONSTRAINT_KIND,
    INFRASTRUCTURE_KIND,
    INQUIRY_STATUS,
    LANGUAGES,
    OFFER,
    OWNERSHIP,
    PLOT_STATUS,
    READINESS,
    REGION_CODE_TAGS,
    REGION_LEVEL,
    ROLE,
    SEAT_KIND,
    SEVERITY,
    SEWAGE,
    STORAGE_SRID,
    USE,
    ZONE_KIND,
    ZONE_LIFECYCLE,
    Vocabulary,
)


def _texts(words: Vocabulary) -> str:
    return ", ".join(f"'{code}'::text" for code in words.codes)


def one_of(column: str, words: Vocabulary) -> str:
    """A CHECK that ``column`` holds one of the vocabulary's codes (or NULL)."""
    return f"{column} = ANY (ARRAY[{_texts(words)}])"


def all_of(column: str, words: Vocabulary) -> str:
    """A CHECK that every element of the array ``column`` is one of the codes."""
    return f"{column} <@ ARRAY[{_texts(words)}]"


def region_code_pattern(level: str) -> str:
    """The regular expression a region code of ``level`` matches: NUTS codes by their length
    (a country is NUTS-0), national levels as ``<country>-<tag>-<national code>``."""
    nuts = {"country": "", "nuts1": "[0-9A-Z]", "nuts2": "[0-9A-Z]{2}", "nuts3": "[0-9A-Z]{3}"}
    if level in nuts:
        return f"^[A-Z]{{2}}{nuts[level]}$"
    return f"^[A-Z]{{2}}-{REGION_CODE_TAGS[level]}-[0-9A-Z]{{1,12}}$"


def region_code_check() -> str:
    """The CHECK that a region's code has the form of its level."""
    cases = " ".join(f"WHEN '{level}'::text THEN '{region_code_pattern(level)}'::text"
                     for level in REGION_LEVEL.codes)
    return f"code ~ CASE level {cases} ELSE NULL::text END"


metadata = MetaData()


account = Table(
    'account', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('name', Text, nullable=False),
    Column('role', Text, nullable=False),
    Column('token_hash', Text),
    Column('created_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('revoked_at', DateTime(True)),
    # argon2id (locations.sign_in); NULL: no password set yet, or reset by an admin.
    Column('password_hash', Text),
    CheckConstraint('length(TRIM(BOTH FROM name)) > 0', name='account_name_check'),
    CheckConstraint(one_of('role', ROLE), name='account_role_check'),
    PrimaryKeyConstraint('id', name='account_pkey'),
    UniqueConstraint('name', name='account_name_key'),
    UniqueConstraint('token_hash', name='account_token_hash_key')
)

account_invitation = Table(
    'account_invitation', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('account_id', Integer, nullable=False),
    Column('token_hash', Text, nullable=False),
    Column('created_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('expires_at', DateTime(True), nullable=False),
    Column('used_at', DateTime(True)),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE',
                         name='account_invitation_account_id_fkey'),
    PrimaryKeyConstraint('id', name='account_invitation_pkey'),
    UniqueConstraint('token_hash', name='account_invitation_token_hash_key'),
    Index('account_invitation_account_idx', 'account_id')
)

account_session = Table(
    'account_session', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('account_id', Integer, nullable=False),
    Column('token_hash', Text, nullable=False),
    Column('created_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('last_seen_at', DateTime(True), nullable=False, server_default=text('now()')),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE',
                         name='account_session_account_id_fkey'),
    PrimaryKeyConstraint('id', name='account_session_pkey'),
    UniqueConstraint('token_hash', name='account_session_token_hash_key'),
    Index('account_session_account_idx', 'account_id')
)

auth_failure = Table(
    'auth_failure', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('client', Text, nullable=False),
    Column('occurred_at', DateTime(True), nullable=False, server_default=text('clock_timestamp()')),
    PrimaryKeyConstraint('id', name='auth_failure_pkey'),
    Index('auth_failure_client_time_idx', 'client', 'occurred_at')
)

constraint_area = Table(
    'constraint_area', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('kind', Text, nullable=False),
    Column('severity', Text),
    Column('name', Text, nullable=False),
    Column('boundary', Geometry('MULTIPOLYGON', STORAGE_SRID, 2, spatial_index=False, nullable=False), nullable=False),
    CheckConstraint('NOT st_isempty(boundary)', name='constraint_area_boundary_not_empty'),
    CheckConstraint(one_of('kind', CONSTRAINT_KIND), name='constraint_area_kind_check'),
    CheckConstraint('length(TRIM(BOTH FROM name)) > 0', name='constraint_area_name_check'),
    CheckConstraint(one_of('severity', SEVERITY), name='constraint_area_severity_check'),
    CheckConstraint('st_isvalid(boundary)', name='constraint_area_boundary_valid'),
    PrimaryKeyConstraint('id', name='constraint_area_pkey'),
    UniqueConstraint('kind', 'name', name='constraint_area_kind_name_key'),
    Index('constraint_area_boundary_gist', 'boundary', postgresql_using='gist')
)

infrastructure = Table(
    'infrastructure', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('kind', Text, nullable=False),
    Column('name', Text, nullable=False),
    Column('code', Text),
    Column('geom', Geometry(srid=STORAGE_SRID, dimension=2, spatial_index=False, nullable=False), nullable=False),
    Column('properties', JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    CheckConstraint('NOT st_isempty(geom)', name='infrastructure_geom_not_empty'),
    CheckConstraint("geometrytype(geom) = ANY (ARRAY['POINT'::text, 'LINESTRING'::text, 'MULTILINESTRING'::text])", name='infrastructure_geom_type'),
    CheckConstraint(one_of('kind', INFRASTRUCTURE_KIND), name='infrastructure_kind_check'),
    CheckConstraint('length(TRIM(BOTH FROM name)) > 0', name='infrastructure_name_check'),
    CheckConstraint('st_isvalid(geom)', name='infrastructure_geom_valid'),
    PrimaryKeyConstraint('id', name='infrastructure_pkey'),
    UniqueConstraint('kind', 'name', name='infrastructure_kind_name_key'),
    Index('infrastructure_airport_gist', 'geom', postgresql_using='gist', postgresql_where="(kind = 'airport'::text)"),
    Index('infrastructure_geom_gist', 'geom', postgresql_using='gist'),
    Index('infrastructure_kind_idx', 'kind'),
    Index('infrastructure_motorway_gist', 'geom', postgresql_using='gist', postgresql_where="(kind = 'motorway_junction'::text)"),
    Index('infrastructure_public_transport_gist', 'geom', postgresql_using='gist', postgresql_where="(kind = ANY (ARRAY['rail_station'::text, 'bus_stop'::text]))"),
    Index('infrastructure_rail_freight_gist', 'geom', postgresql_using='gist', postgresql_where="(kind = 'rail_freight_terminal'::text)"),
    Index('infrastructure_rail_station_gist', 'geom', postgresql_using='gist', postgresql_where="(kind = 'rail_station'::text)")
)

plot_proximity = Table(
    'plot_proximity', metadata,
    Column('plot_id', BigInteger, primary_key=True),
    Column('motorway_km', Double(53)),
    Column('rail_station_km', Double(53)),
    Column('rail_freight_km', Double(53)),
    Column('airport_km', Double(53)),
    Column('public_transport_km', Double(53)),
    Column('computed_at', DateTime(True), nullable=False, server_default=text('now()')),
    PrimaryKeyConstraint('plot_id', name='plot_proximity_pkey'),
    Index('plot_proximity_airport_idx', 'airport_km'),
    Index('plot_proximity_motorway_idx', 'motorway_km'),
    Index('plot_proximity_motorway_sort_idx', text("COALESCE(motorway_km, 'Infinity'::double precision)"), 'plot_id'),
    Index('plot_proximity_rail_station_idx', 'rail_station_km')
)

#: Each zone's distances to the nearest infrastructure of each kind (km), kept by triggers on
#: zone and infrastructure (0123) as plot_proximity keeps each plot's.
zone_proximity = Table(
    'zone_proximity', metadata,
    Column('zone_id', Integer, primary_key=True),
    Column('motorway_km', Double(53)),
    Column('rail_station_km', Double(53)),
    Column('rail_freight_km', Double(53)),
    Column('airport_km', Double(53)),
    Column('public_transport_km', Double(53)),
    Column('computed_at', DateTime(True), nullable=False, server_default=text('now()')),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE',
                         name='zone_proximity_zone_id_fkey'),
    PrimaryKeyConstraint('zone_id', name='zone_proximity_pkey')
)

plot_score = Table(
    'plot_score', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('plot_id', BigInteger, primary_key=True),
    Column('total', REAL, nullable=False),
    Column('completeness', REAL, nullable=False),
    Column('passed', Boolean, nullable=False),
    Column('gates_failed', ARRAY(Text()), nullable=False),
    Column('raw', ARRAY(REAL()), nullable=False),
    Column('score', ARRAY(REAL()), nullable=False),
    CheckConstraint('completeness >= 0::double precision AND completeness <= 1::double precision', name='plot_score_completeness_check'),
    CheckConstraint('total >= 0::double precision AND total <= 100::double precision', name='plot_score_total_check'),
    PrimaryKeyConstraint('run_id', 'plot_id', name='plot_score_pkey'),
    Index('plot_score_rank_idx', 'run_id', text('total DESC'), text('plot_id DESC'), postgresql_include=['passed']),
    postgresql_partition_by='LIST (run_id)'
)

plot_group_score = Table(
    'plot_group_score', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('plot_id', BigInteger, primary_key=True),
    Column('groups', ARRAY(REAL()), nullable=False),
    Column('zone_id', Integer, nullable=False),
    PrimaryKeyConstraint('run_id', 'plot_id', name='plot_group_score_pkey'),
    Index('plot_group_score_zone_idx', 'run_id', 'zone_id'),
    postgresql_partition_by='LIST (run_id)'
)

region = Table(
    'region', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('code', Text, nullable=False),
    Column('name', Text, nullable=False),
    Column('country', CHAR(2), nullable=False),
    Column('area_km2', Double(53)),
    Column('boundary', Geometry('MULTIPOLYGON', STORAGE_SRID, 2, spatial_index=False)),
    Column('official_area_km2', Double(53)),
    Column('level', Text, nullable=False),
    Column('parent_id', Integer),
    CheckConstraint('NOT st_isempty(boundary)', name='region_boundary_not_empty'),
    CheckConstraint('area_km2 > 0::double precision', name='region_area_km2_check'),
    CheckConstraint('official_area_km2 > 0::double precision', name='region_official_area_km2_check'),
    CheckConstraint(region_code_check(), name='region_code_check'),
    CheckConstraint("country ~ '^[A-Z]{2}$'::text", name='region_country_check'),
    CheckConstraint('left(code, 2) = country::text', name='region_code_in_country'),
    CheckConstraint(one_of('level', REGION_LEVEL), name='region_level_check'),
    CheckConstraint('length(TRIM(BOTH FROM name)) > 0', name='region_name_check'),
    CheckConstraint('st_isvalid(boundary)', name='region_boundary_valid'),
    ForeignKeyConstraint(['parent_id'], ['region.id'], ondelete='RESTRICT', name='region_parent_id_fkey'),
    PrimaryKeyConstraint('id', name='region_pkey'),
    UniqueConstraint('code', name='region_code_key'),
    Index('region_boundary_gist', 'boundary', postgresql_using='gist'),
    Index('region_parent_idx', 'parent_id')
)

standard = Table(
    'standard', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('name', Text, nullable=False),
    Column('version', Text, nullable=False),
    Column('digest', Text, nullable=False),
    Column('document', JSONB, nullable=False),
    Column('registered_at', DateTime(True), nullable=False, server_default=text('now()')),
    PrimaryKeyConstraint('id', name='standard_pkey'),
    UniqueConstraint('name', 'version', 'digest', name='standard_name_version_digest_key')
)

account_region = Table(
    'account_region', metadata,
    Column('account_id', Integer, primary_key=True),
    Column('region_id', Integer, primary_key=True),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE', name='account_region_account_id_fkey'),
    ForeignKeyConstraint(['region_id'], ['region.id'], ondelete='CASCADE', name='account_region_region_id_fkey'),
    PrimaryKeyConstraint('account_id', 'region_id', name='account_region_pkey')
)

import_job = Table(
    'import_job', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('account_id', Integer),
    Column('requested_by', Text, nullable=False),
    Column('target', Text, nullable=False),
    Column('file_name', Text, nullable=False),
    Column('options', JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column('state', Text, nullable=False, server_default=text("'queued'::text")),
    Column('step', Text),
    Column('done', BigInteger),
    Column('total', BigInteger),
    Column('report', JSONB),
    Column('error', Text),
    Column('created_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('started_at', DateTime(True)),
    Column('finished_at', DateTime(True)),
    Column('heartbeat_at', DateTime(True)),
    Column('problems_csv', LargeBinary),
    # The backend of the server holding the job (its beat's session): gone, the job is cut off.
    Column('worker_pid', Integer),
    Column('worker_started', DateTime(True)),
    CheckConstraint("(state = ANY (ARRAY['queued'::text, 'running'::text])) = (finished_at IS NULL)", name='import_job_finished_has_time'),
    CheckConstraint("state = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'refused'::text, 'failed'::text])", name='import_job_state_check'),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='SET NULL', name='import_job_account_id_fkey'),
    PrimaryKeyConstraint('id', name='import_job_pkey'),
    Index('import_job_account_idx', 'account_id', 'id')
)

municipality = Table(
    'municipality', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('code', Text, nullable=False),
    Column('name', Text, nullable=False),
    Column('region_id', Integer, nullable=False),
    Column('country', CHAR(2), nullable=False),
    Column('population', Integer),
    Column('area_km2', Double(53)),
    Column('seat', Geometry('POINT', STORAGE_SRID, 2, spatial_index=False)),
    Column('boundary', Geometry('MULTIPOLYGON', STORAGE_SRID, 2, spatial_index=False)),
    Column('official_area_km2', Double(53)),
    Column('seat_kind', Text),
    Column('boundary_approximate', Boolean, nullable=False, server_default=text('false')),
    CheckConstraint('NOT st_isempty(boundary)', name='municipality_boundary_not_empty'),
    CheckConstraint('area_km2 > 0::double precision', name='municipality_area_km2_check'),
    CheckConstraint('official_area_km2 > 0::double precision', name='municipality_official_area_km2_check'),
    CheckConstraint(one_of('seat_kind', SEAT_KIND), name='municipality_seat_kind_check'),
    CheckConstraint("country ~ '^[A-Z]{2}$'::text", name='municipality_country_check'),
    CheckConstraint('length(TRIM(BOTH FROM code)) > 0', name='municipality_code_check'),
    CheckConstraint('length(TRIM(BOTH FROM name)) > 0', name='municipality_name_check'),
    CheckConstraint('population >= 0', name='municipality_population_check'),
    CheckConstraint('st_isvalid(boundary)', name='municipality_boundary_valid'),
    ForeignKeyConstraint(['region_id'], ['region.id'], ondelete='RESTRICT', name='municipality_region_id_fkey'),
    PrimaryKeyConstraint('id', name='municipality_pkey'),
    UniqueConstraint('country', 'code', name='municipality_country_code_key'),
    Index('municipality_boundary_gist', 'boundary', postgresql_using='gist'),
    Index('municipality_region_idx', 'region_id'),
    Index('municipality_seat_gist', 'seat', postgresql_using='gist')
)

score_run = Table(
    'score_run', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('standard_id', Integer, nullable=False),
    Column('profile', Text, nullable=False),
    Column('region_code', Text),
    Column('as_of', Date, nullable=False),
    Column('requested_by', Text, nullable=False),
    Column('status', Text, nullable=False, server_default=text("'running'::text")),
    Column('started_at', DateTime(True), nullable=False, server_default=text('clock_timestamp()')),
    Column('finished_at', DateTime(True)),
    Column('criteria', ARRAY(Text()), nullable=False),
    Column('weights', ARRAY(Double(precision=53)), nullable=False),
    Column('plot_count', Integer),
    Column('zone_count', Integer),
    Column('error', Text),
    CheckConstraint('cardinality(criteria) = cardinality(weights)', name='score_run_weights_match'),
    CheckConstraint("status <> 'finished'::text OR finished_at IS NOT NULL", name='score_run_finished_has_time'),
    CheckConstraint("status = ANY (ARRAY['running'::text, 'finished'::text, 'failed'::text])", name='score_run_status_check'),
    ForeignKeyConstraint(['standard_id'], ['standard.id'], ondelete='RESTRICT', name='score_run_standard_id_fkey'),
    PrimaryKeyConstraint('id', name='score_run_pkey'),
    Index('score_run_latest_idx', 'profile', text('finished_at DESC'), postgresql_where="(status = 'finished'::text)")
)

account_municipality = Table(
    'account_municipality', metadata,
    Column('account_id', Integer, primary_key=True),
    Column('municipality_id', Integer, primary_key=True),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE', name='account_municipality_account_id_fkey'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE', name='account_municipality_municipality_id_fkey'),
    PrimaryKeyConstraint('account_id', 'municipality_id', name='account_municipality_pkey')
)

zone = Table(
    'zone', metadata,
    Column('id', Integer, primary_key=True, autoincrement=True),
    Column('municipality_id', Integer, nullable=False),
    Column('name', Text, nullable=False),
    Column('kind', Text, nullable=False),
    Column('lifecycle', Text, nullable=False, server_default=text("'operational'::text")),
    Column('allowed_uses', ARRAY(Text()), nullable=False, server_default=text("'{}'::text[]")),
    Column('brownfield', Boolean, nullable=False, server_default=text('false')),
    Column('power_mw', Double(53)),
    Column('gas', Boolean),
    Column('water', Boolean),
    Column('sewage', Text),
    Column('broadband', Text),
    Column('rail_siding', Boolean),
    Column('district_heating', Boolean),
    Column('manager_name', Text),
    Column('manager_email', Text),
    Column('manager_phone', Text),
    Column('description_en', Text),
    Column('description_sl', Text),
    Column('description_de', Text),
    Column('property_sheet_url', Text),
    Column('facts_source', Text),
    Column('boundary', Geometry('MULTIPOLYGON', STORAGE_SRID, 2, spatial_index=False, nullable=False), nullable=False),
    Column('area_m2', Double(53), Computed('st_area(boundary)', persisted=True)),
    Column('last_verified', Date),
    Column('version', Integer, nullable=False, server_default=text('1')),
    Column('updated_at', DateTime(True), nullable=False, server_default=text('now()')),
    CheckConstraint('NOT st_isempty(boundary)', name='zone_boundary_not_empty'),
    CheckConstraint(all_of('allowed_uses', USE), name='zone_allowed_uses_check'),
    CheckConstraint('area_m2 > 0::double precision', name='zone_area_positive'),
    CheckConstraint(one_of('broadband', BROADBAND), name='zone_broadband_check'),
    CheckConstraint(one_of('kind', ZONE_KIND), name='zone_kind_check'),
    CheckConstraint('length(TRIM(BOTH FROM name)) > 0', name='zone_name_check'),
    CheckConstraint(one_of('lifecycle', ZONE_LIFECYCLE), name='zone_lifecycle_check'),
    CheckConstraint('power_mw >= 0::double precision', name='zone_power_mw_check'),
    CheckConstraint('power_mw <= 10000', name='zone_power_plausible'),
    CheckConstraint(one_of('sewage', SEWAGE), name='zone_sewage_check'),
    CheckConstraint('st_isvalid(boundary)', name='zone_boundary_valid'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='RESTRICT', name='zone_municipality_id_fkey'),
    PrimaryKeyConstraint('id', name='zone_pkey'),
    UniqueConstraint('municipality_id', 'name', name='zone_municipality_id_name_key'),
    Index('zone_boundary_gist', 'boundary', postgresql_using='gist'),
    Index('zone_municipality_idx', 'municipality_id'),
    Index('zone_name_idx', 'name', 'id')
)

municipality_region = Table(
    'municipality_region', metadata,
    Column('municipality_id', Integer, primary_key=True),
    Column('level', Text, primary_key=True),
    Column('region_id', Integer, nullable=False),
    CheckConstraint(one_of('level', REGION_LEVEL), name='municipality_region_level_check'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE', name='municipality_region_municipality_id_fkey'),
    ForeignKeyConstraint(['region_id'], ['region.id'], ondelete='CASCADE', name='municipality_region_region_id_fkey'),
    PrimaryKeyConstraint('municipality_id', 'level', name='municipality_region_pkey'),
    Index('municipality_region_region_idx', 'region_id', 'municipality_id')
)

zone_municipality = Table(
    'zone_municipality', metadata,
    Column('zone_id', Integer, primary_key=True),
    Column('municipality_id', Integer, primary_key=True),
    Column('share', Double(53)),
    CheckConstraint('share >= 0::double precision AND share <= 1.000001::double precision', name='zone_municipality_share_check'),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE', name='zone_municipality_zone_id_fkey'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE', name='zone_municipality_municipality_id_fkey'),
    PrimaryKeyConstraint('zone_id', 'municipality_id', name='zone_municipality_pkey'),
    Index('zone_municipality_municipality_idx', 'municipality_id', 'zone_id')
)

# Each municipality's available plots (not retired) and their area, by the plots' own
# municipality, kept by the triggers on plot (0130).
municipality_available = Table(
    'municipality_available', metadata,
    Column('municipality_id', Integer, primary_key=True),
    Column('plots', Integer, nullable=False),
    Column('area_m2', Numeric, nullable=False),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='municipality_available_municipality_id_fkey'),
    PrimaryKeyConstraint('municipality_id', name='municipality_available_pkey')
)

# Each profile's current scores kept as figures for comparisons by score (0130): the runs
# they are of, per zone and plot municipality, and the ranked plots' scores by hundredths.
score_summary_run = Table(
    'score_summary_run', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('profile', Text, nullable=False),
    Column('ranked_runs', ARRAY(BigInteger()), nullable=False),
    Column('scored_runs', ARRAY(BigInteger()), nullable=False),
    Column('max_plot_id', BigInteger, nullable=False),
    ForeignKeyConstraint(['run_id'], ['score_run.id'], ondelete='CASCADE',
                         name='score_summary_run_run_id_fkey'),
    PrimaryKeyConstraint('run_id', name='score_summary_run_pkey'),
    UniqueConstraint('profile', name='score_summary_run_profile_key')
)

score_summary = Table(
    'score_summary', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('zone_id', Integer, primary_key=True),
    Column('municipality_id', Integer, primary_key=True),
    Column('ranked_plots', Integer, nullable=False),
    Column('ranked_area_m2', Numeric, nullable=False),
    Column('above_60_m2', Numeric, nullable=False),
    Column('scored_plots', Integer, nullable=False),
    Column('score_sum', Numeric, nullable=False),
    ForeignKeyConstraint(['run_id'], ['score_summary_run.run_id'], ondelete='CASCADE',
                         name='score_summary_run_id_fkey'),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE',
                         name='score_summary_zone_id_fkey'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='score_summary_municipality_id_fkey'),
    PrimaryKeyConstraint('run_id', 'zone_id', 'municipality_id', name='score_summary_pkey')
)

score_histogram = Table(
    'score_histogram', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('municipality_id', Integer, primary_key=True),
    Column('coarse', SmallInteger, primary_key=True),
    Column('plots', Integer, nullable=False),
    Column('fine', ARRAY(Integer()), nullable=False),
    CheckConstraint('cardinality(fine) = 100', name='score_histogram_fine_check'),
    ForeignKeyConstraint(['run_id'], ['score_summary_run.run_id'], ondelete='CASCADE',
                         name='score_histogram_run_id_fkey'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='score_histogram_municipality_id_fkey'),
    PrimaryKeyConstraint('run_id', 'municipality_id', 'coarse', name='score_histogram_pkey')
)

zone_score = Table(
    'zone_score', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('zone_id', Integer, primary_key=True),
    Column('plot_count', Integer, nullable=False),
    Column('available_plots', Integer, nullable=False),
    Column('available_area_m2', Double(53), nullable=False),
    Column('best_plot_id', BigInteger),
    Column('best_total', REAL),
    Column('mean_total', REAL),
    Column('criteria', JSONB, nullable=False),
    Column('median_total', REAL),
    Column('passed_totals', ARRAY(REAL()), nullable=False, server_default=text("'{}'::real[]")),
    ForeignKeyConstraint(['run_id'], ['score_run.id'], ondelete='CASCADE', name='zone_score_run_id_fkey'),
    PrimaryKeyConstraint('run_id', 'zone_id', name='zone_score_pkey'),
    Index('zone_score_median_idx', 'run_id', text('median_total DESC'),
          postgresql_include=['zone_id'], postgresql_where=text('median_total IS NOT NULL'))
)

zone_group_max = Table(
    'zone_group_max', metadata,
    Column('run_id', BigInteger, primary_key=True),
    Column('zone_id', Integer, primary_key=True),
    Column('plots', Integer, nullable=False),
    Column('groups', ARRAY(REAL()), nullable=False),
    ForeignKeyConstraint(['run_id'], ['score_run.id'], ondelete='CASCADE', name='zone_group_max_run_id_fkey'),
    PrimaryKeyConstraint('run_id', 'zone_id', name='zone_group_max_pkey')
)

plot = Table(
    'plot', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('zone_id', Integer, nullable=False),
    Column('country', CHAR(2), nullable=False),
    Column('cadastral_ref', Text, nullable=False),
    Column('boundary', Geometry('MULTIPOLYGON', STORAGE_SRID, 2, spatial_index=False, nullable=False), nullable=False),
    Column('area_m2', Double(53), nullable=False),
    Column('status', Text, nullable=False, server_default=text("'available'::text")),
    Column('ownership', Text),
    Column('offer', Text),
    Column('price_eur_m2', Numeric(10, 2)),
    Column('allowed_uses', ARRAY(Text()), nullable=False, server_default=text("'{}'::text[]")),
    Column('readiness', Text),
    Column('brownfield', Boolean, nullable=False, server_default=text('false')),
    Column('power_mw', Double(53)),
    Column('available_from', Date),
    Column('max_building_height_m', Double(53)),
    Column('last_verified', Date),
    Column('owner_contact', Text),
    Column('internal_note', Text),
    Column('retired_at', DateTime(True)),
    Column('version', Integer, nullable=False, server_default=text('1')),
    Column('updated_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('boundary_3857', Geometry('MULTIPOLYGON', 3857, 2, spatial_index=False, nullable=False), nullable=False),
    # Derived by the plot_country trigger (plot_municipality: the zone's municipality holding
    # most of the plot), kept when zones or municipality boundaries change (0121).
    Column('municipality_id', Integer, nullable=False),
    # The outline as search pages write it in CRS84, computed by PostgreSQL whenever the
    # boundary is written (0138): pages send it instead of writing it anew per request.
    Column('boundary_geojson', JSON, Computed(
        '(st_asgeojson(st_forcepolygonccw(st_transform(boundary, 4326)), 7))::json',
        persisted=True), nullable=False),
    CheckConstraint('NOT st_isempty(boundary)', name='plot_boundary_not_empty'),
    CheckConstraint(all_of('allowed_uses', USE), name='plot_allowed_uses_check'),
    CheckConstraint('area_m2 > 0::double precision', name='plot_area_positive'),
    CheckConstraint('length(TRIM(BOTH FROM cadastral_ref)) > 0', name='plot_cadastral_ref_check'),
    CheckConstraint(one_of('offer', OFFER), name='plot_offer_check'),
    CheckConstraint(one_of('ownership', OWNERSHIP), name='plot_ownership_check'),
    CheckConstraint('power_mw >= 0::double precision', name='plot_power_mw_check'),
    CheckConstraint('price_eur_m2 > 0::numeric', name='plot_price_eur_m2_check'),
    CheckConstraint('price_eur_m2 <= 100000', name='plot_price_plausible'),
    CheckConstraint('power_mw <= 10000', name='plot_power_plausible'),
    CheckConstraint('max_building_height_m > 0::double precision AND max_building_height_m <= 1000::double precision',
                    name='plot_building_height_plausible'),
    CheckConstraint(one_of('readiness', READINESS), name='plot_readiness_check'),
    CheckConstraint('st_isvalid(boundary)', name='plot_boundary_valid'),
    CheckConstraint(one_of('status', PLOT_STATUS), name='plot_status_known'),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='RESTRICT', name='plot_zone_id_fkey'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='RESTRICT',
                         name='plot_municipality_id_fkey'),
    PrimaryKeyConstraint('id', name='plot_pkey'),
    UniqueConstraint('country', 'cadastral_ref', name='plot_cadastral_ref_unique_in_country'),
    Index('plot_boundary_gist', 'boundary', postgresql_using='gist'),
    Index('plot_last_verified_idx', 'last_verified'),
    Index('plot_price_idx', 'price_eur_m2'),
    Index('plot_search_area_idx', 'area_m2', 'id'),
    Index('plot_search_price_idx', text("COALESCE(price_eur_m2, 'Infinity'::numeric)"), 'id'),
    Index('plot_search_verified_desc_idx', text("COALESCE(last_verified, '-infinity'::date)"), 'id'),
    Index('plot_search_zone_idx', 'zone_id', 'id'),
    Index('plot_search_municipality_idx', 'municipality_id', 'id'),
    Index('plot_available_municipality_idx', 'municipality_id',
          postgresql_where=text("status = 'available'::text AND retired_at IS NULL"),
          postgresql_include=['area_m2', 'id']),
    Index('plot_land_idx', 'zone_id', postgresql_where=text('retired_at IS NULL'),
          postgresql_include=['status', 'readiness', 'brownfield', 'area_m2', 'last_verified']),
    Index('plot_status_idx', 'status')
)

zone_event = Table(
    'zone_event', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('zone_id', Integer, nullable=False),
    Column('occurred_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('actor', Text, nullable=False),
    Column('account_id', Integer),
    Column('action', Text, nullable=False),
    Column('old_values', JSONB),
    Column('new_values', JSONB),
    Column('note', Text),
    CheckConstraint("action = ANY (ARRAY['update'::text, 'verify'::text])", name='zone_event_action_check'),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='SET NULL', name='zone_event_account_id_fkey'),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='RESTRICT', name='zone_event_zone_id_fkey'),
    PrimaryKeyConstraint('id', name='zone_event_pkey'),
    Index('zone_event_time_idx', 'occurred_at'),
    Index('zone_event_zone_idx', 'zone_id', 'id')
)

#: Dense plots tiles as made, each with the print of the plots it was made from; a tile is
#: taken from here only while its plots print the same (locations/tiles.py).
plot_tile_cache = Table(
    'plot_tile_cache', metadata,
    Column('z', SmallInteger, primary_key=True),
    Column('x', Integer, primary_key=True),
    Column('y', Integer, primary_key=True),
    Column('code', Text, nullable=False),
    Column('plots', Integer, nullable=False),
    Column('print', BigInteger, nullable=False),
    Column('content', LargeBinary, nullable=False),
    Column('made_at', DateTime(True), nullable=False, server_default=text('now()')),
    PrimaryKeyConstraint('z', 'x', 'y', name='plot_tile_cache_pkey')
)

zone_summary = Table(
    'zone_summary', metadata,
    Column('zone_id', Integer, primary_key=True),
    Column('plot_count', Integer, nullable=False, server_default=text('0')),
    Column('plot_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('taken_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_count', Integer, nullable=False, server_default=text('0')),
    Column('reserved_count', Integer, nullable=False, server_default=text('0')),
    Column('under_negotiation_count', Integer, nullable=False, server_default=text('0')),
    Column('sold_count', Integer, nullable=False, server_default=text('0')),
    Column('occupied_count', Integer, nullable=False, server_default=text('0')),
    Column('not_for_sale_count', Integer, nullable=False, server_default=text('0')),
    Column('occupancy_share', Double(53), Computed('\nCASE\n    WHEN ((plot_count > 0) AND (plot_area_m2 > (0)::numeric)) THEN ((taken_area_m2 / plot_area_m2))::double precision\n    ELSE NULL::double precision\nEND', persisted=True)),
    Column('updated_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('reserved_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('under_negotiation_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('sold_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('occupied_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('not_for_sale_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_registered_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_serviced_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_shovel_ready_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_unknown_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('brownfield_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('brownfield_available_area_m2', Numeric, nullable=False, server_default=text('0')),
    Column('available_registered_count', Integer, nullable=False, server_default=text('0')),
    Column('available_serviced_count', Integer, nullable=False, server_default=text('0')),
    Column('available_shovel_ready_count', Integer, nullable=False, server_default=text('0')),
    Column('available_unknown_count', Integer, nullable=False, server_default=text('0')),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE', name='zone_summary_zone_id_fkey'),
    PrimaryKeyConstraint('zone_id', name='zone_summary_pkey')
)

#: Each zone's outline (GeoJSON in CRS84), properties and whole Feature as the JSON text the
#: zone reads write, and the keys of their default order, kept by statement triggers on
#: zone, zone_summary, zone_municipality, municipality and region (0134): a page of zone
#: items joins its zones' texts instead of writing them.
zone_feature = Table(
    'zone_feature', metadata,
    Column('zone_id', Integer, primary_key=True),
    Column('region_code', Text, nullable=False),
    Column('municipality_name', Text, nullable=False),
    Column('name', Text, nullable=False),
    Column('geometry', JSON, nullable=False),
    Column('properties', JSON, nullable=False),
    Column('feature', Text, nullable=False),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE',
                         name='zone_feature_zone_id_fkey'),
    PrimaryKeyConstraint('zone_id', name='zone_feature_pkey'),
    Index('zone_feature_listing_idx', 'region_code', 'municipality_name', 'name', 'zone_id')
)

#: Live plots per municipality (the plot's kept municipality_id) and status, kept by statement
#: triggers on plot (0131): a search by places and statuses alone counts its matches here.
plot_count_kept = Table(
    'plot_count_kept', metadata,
    Column('municipality_id', Integer, primary_key=True),
    Column('status', Text, primary_key=True),
    Column('plots', Integer, nullable=False),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='plot_count_kept_municipality_id_fkey'),
    PrimaryKeyConstraint('municipality_id', 'status', name='plot_count_kept_pkey')
)

#: A zone's live plots by month of their last verification, with the plots of each day of the
#: month (by_day[1..31]), kept with zone_summary by the triggers on plot (0115).
zone_verified_month = Table(
    'zone_verified_month', metadata,
    Column('zone_id', Integer, primary_key=True),
    Column('month', Date, primary_key=True),
    Column('plots', Integer, nullable=False, server_default=text('0')),
    Column('by_day', ARRAY(Integer()), nullable=False),
    CheckConstraint('cardinality(by_day) = 31', name='zone_verified_month_days'),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE',
                         name='zone_verified_month_zone_id_fkey'),
    PrimaryKeyConstraint('zone_id', 'month', name='zone_verified_month_pkey')
)

#: The same per municipality (by_day summed over its zones), which a region's freshness
#: sums; written with zone_verified_month (0118).
municipality_verified_month = Table(
    'municipality_verified_month', metadata,
    Column('municipality_id', Integer, primary_key=True),
    Column('month', Date, primary_key=True),
    Column('plots', Integer, nullable=False, server_default=text('0')),
    Column('by_day', ARRAY(Integer()), nullable=False),
    CheckConstraint('cardinality(by_day) = 31', name='municipality_verified_month_days'),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='municipality_verified_month_municipality_id_fkey'),
    PrimaryKeyConstraint('municipality_id', 'month', name='municipality_verified_month_pkey')
)

plot_event = Table(
    'plot_event', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('plot_id', BigInteger, nullable=False),
    Column('occurred_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('actor', Text, nullable=False),
    Column('account_id', Integer),
    Column('action', Text, nullable=False),
    Column('old_values', JSONB),
    Column('new_values', JSONB),
    Column('note', Text),
    Column('effective_date', Date, nullable=False, server_default=text('CURRENT_DATE')),
    CheckConstraint("action = ANY (ARRAY['create'::text, 'update'::text, 'verify'::text, 'retire'::text, 'import'::text])", name='plot_event_action_check'),
    CheckConstraint("effective_date >= '1990-01-01'::date AND effective_date <= ((occurred_at AT TIME ZONE 'UTC'::text)::date + 1)", name='plot_event_effective_date_plausible'),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='SET NULL', name='plot_event_account_id_fkey'),
    ForeignKeyConstraint(['plot_id'], ['plot.id'], ondelete='RESTRICT', name='plot_event_plot_id_fkey'),
    PrimaryKeyConstraint('id', name='plot_event_pkey'),
    Index('plot_event_plot_effective_idx', 'plot_id', 'effective_date', 'id'),
    Index('plot_event_plot_idx', 'plot_id', 'id'),
    Index('plot_event_time_idx', 'occurred_at')
)

inquiry = Table(
    'inquiry', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('plot_id', BigInteger, nullable=False),
    Column('received_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('lang', Text, nullable=False),
    Column('name', Text, nullable=False),
    Column('company', Text, nullable=False),
    Column('email', Text, nullable=False),
    Column('phone', Text),
    Column('message', Text, nullable=False),
    Column('consent_text', Text, nullable=False),
    Column('notify_to', Text),
    Column('notification', Text, nullable=False, server_default=text("'pending'::text")),
    Column('notified_at', DateTime(True)),
    Column('notification_error', Text),
    Column('status', Text, nullable=False, server_default=text("'new'::text")),
    CheckConstraint(one_of('status', INQUIRY_STATUS), name='inquiry_status_check'),
    CheckConstraint("lang = ANY (ARRAY[" + ", ".join(f"'{code}'::text" for code in LANGUAGES)
                    + "])", name='inquiry_lang_check'),
    CheckConstraint('length(btrim(name)) BETWEEN 1 AND 200', name='inquiry_name_check'),
    CheckConstraint('length(btrim(company)) BETWEEN 1 AND 200', name='inquiry_company_check'),
    CheckConstraint('length(email) BETWEEN 3 AND 254', name='inquiry_email_check'),
    CheckConstraint('length(phone) <= 40', name='inquiry_phone_check'),
    CheckConstraint('length(btrim(message)) BETWEEN 1 AND 5000', name='inquiry_message_check'),
    CheckConstraint("notification = ANY (ARRAY['pending'::text, 'sent'::text, 'failed'::text, "
                    "'off'::text, 'no_recipient'::text])", name='inquiry_notification_check'),
    CheckConstraint("(notification = 'sent'::text) = (notified_at IS NOT NULL)",
                    name='inquiry_sent_has_time'),
    ForeignKeyConstraint(['plot_id'], ['plot.id'], ondelete='CASCADE', name='inquiry_plot_id_fkey'),
    PrimaryKeyConstraint('id', name='inquiry_pkey'),
    Index('inquiry_plot_idx', 'plot_id', 'id'),
    Index('inquiry_received_idx', 'received_at'),
    Index('inquiry_email_idx', text('lower(email)'))
)

inquiry_attempt = Table(
    'inquiry_attempt', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('client', Text, nullable=False),
    Column('occurred_at', DateTime(True), nullable=False, server_default=text('clock_timestamp()')),
    PrimaryKeyConstraint('id', name='inquiry_attempt_pkey'),
    Index('inquiry_attempt_client_time_idx', 'client', 'occurred_at')
)

plot_site_metrics = Table(
    'plot_site_metrics', metadata,
    Column('plot_id', BigInteger, primary_key=True),
    Column('compactness', Double(53), nullable=False),
    Column('constraint_share', Double(53), nullable=False),
    Column('flood_high_share', Double(53), nullable=False),
    Column('labour_pool', BigInteger),
    Column('computed_at', DateTime(True), nullable=False, server_default=text('now()')),
    ForeignKeyConstraint(['plot_id'], ['plot.id'], ondelete='CASCADE', name='plot_site_metrics_plot_id_fkey'),
    PrimaryKeyConstraint('plot_id', name='plot_site_metrics_pkey')
)

plot_attachment = Table(
    'plot_attachment', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('plot_id', BigInteger, nullable=False),
    Column('kind', Text, nullable=False),
    Column('file_name', Text, nullable=False),
    Column('title', Text),
    Column('byte_size', Integer, nullable=False),
    Column('width', Integer),
    Column('height', Integer),
    Column('sha256', Text, nullable=False),
    Column('content', LargeBinary, nullable=False),
    Column('created_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('account_id', Integer),
    Column('created_by', Text, nullable=False),
    CheckConstraint(one_of('kind', ATTACHMENT_KIND), name='plot_attachment_kind_check'),
    CheckConstraint('length(btrim(file_name)) BETWEEN 1 AND 200',
                    name='plot_attachment_file_name_check'),
    CheckConstraint('length(title) <= 200', name='plot_attachment_title_check'),
    CheckConstraint(f'byte_size = octet_length(content) AND byte_size BETWEEN 1 AND '
                    f'{MAX_ATTACHMENT_BYTES}', name='plot_attachment_size_check'),
    ForeignKeyConstraint(['plot_id'], ['plot.id'], ondelete='CASCADE',
                         name='plot_attachment_plot_id_fkey'),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='SET NULL',
                         name='plot_attachment_account_id_fkey'),
    PrimaryKeyConstraint('id', name='plot_attachment_pkey'),
    Index('plot_attachment_plot_idx', 'plot_id', 'id')
)

inquiry_event = Table(
    'inquiry_event', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('inquiry_id', BigInteger, nullable=False),
    Column('occurred_at', DateTime(True), nullable=False, server_default=text('now()')),
    Column('account_id', Integer),
    Column('actor', Text, nullable=False),
    Column('old_status', Text, nullable=False),
    Column('new_status', Text, nullable=False),
    Column('via', Text, nullable=False),
    CheckConstraint(one_of('old_status', INQUIRY_STATUS), name='inquiry_event_old_status_check'),
    CheckConstraint(one_of('new_status', INQUIRY_STATUS), name='inquiry_event_new_status_check'),
    CheckConstraint("via = ANY (ARRAY['page'::text, 'mail'::text, 'mailto'::text])",
                    name='inquiry_event_via_check'),
    ForeignKeyConstraint(['inquiry_id'], ['inquiry.id'], ondelete='CASCADE',
                         name='inquiry_event_inquiry_id_fkey'),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='SET NULL',
                         name='inquiry_event_account_id_fkey'),
    PrimaryKeyConstraint('id', name='inquiry_event_pkey'),
    Index('inquiry_event_inquiry_idx', 'inquiry_id', 'id')
)

staged_upload = Table(
    'staged_upload', metadata,
    Column('id', BigInteger, primary_key=True, autoincrement=True),
    Column('token_hash', Text, nullable=False),
    Column('purpose', Text, nullable=False),
    Column('account_id', Integer, nullable=False),
    Column('session_hash', Text, nullable=False),
    Column('file_name', Text, nullable=False),
    Column('options', JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column('content', LargeBinary, nullable=False),
    Column('job_id', BigInteger),
    Column('created_at', DateTime(True), nullable=False, server_default=text('now()')),
    CheckConstraint("purpose = ANY (ARRAY['plot_updates'::text, 'import'::text])",
                    name='staged_upload_purpose_check'),
    CheckConstraint(f'octet_length(content) <= {MAX_STAGED_BYTES}',
                    name='staged_upload_size_check'),
    ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE',
                         name='staged_upload_account_id_fkey'),
    ForeignKeyConstraint(['job_id'], ['import_job.id'], ondelete='CASCADE',
                         name='staged_upload_job_id_fkey'),
    PrimaryKeyConstraint('id', name='staged_upload_pkey'),
    UniqueConstraint('token_hash', name='staged_upload_token_hash_key'),
    Index('staged_upload_created_idx', 'created_at'),
    Index('staged_upload_job_idx', 'job_id')
)


municipality_first_load = Table(
    'municipality_first_load', metadata,
    Column('municipality_id', Integer, primary_key=True),
    Column('loaded_at', DateTime(True), nullable=False),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='municipality_first_load_municipality_id_fkey'),
    PrimaryKeyConstraint('municipality_id', name='municipality_first_load_pkey')
)

#: Land supply per municipality and month: its zones' months summed, kept by triggers on
#: zone_supply_month and zone (0116), so a region's series reads a few rows per municipality.
municipality_supply_month = Table(
    'municipality_supply_month', metadata,
    Column('municipality_id', Integer, primary_key=True),
    Column('month', Date, primary_key=True),
    *(Column(name, Numeric, nullable=False, server_default=text('0')) for name in (
        'available_registered', 'available_serviced', 'available_shovel_ready',
        'available_unknown', 'opening_stock', 'market_change', 'new_supply', 'take_up',
        'reversed')),
    ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ondelete='CASCADE',
                         name='municipality_supply_month_municipality_id_fkey'),
    PrimaryKeyConstraint('municipality_id', 'month', name='municipality_supply_month_pkey')
)

#: Land supply per zone and month, kept from the audit trail by the zone_supply_event
#: trigger (locations/land_supply.py defines each amount; areas in m²).
zone_supply_month = Table(
    'zone_supply_month', metadata,
    Column('zone_id', Integer, primary_key=True),
    Column('month', Date, primary_key=True),
    *(Column(name, Numeric, nullable=False, server_default=text('0')) for name in (
        'available_registered', 'available_serviced', 'available_shovel_ready',
        'available_unknown', 'opening_stock', 'market_change', 'new_supply', 'take_up',
        'reversed')),
    ForeignKeyConstraint(['zone_id'], ['zone.id'], ondelete='CASCADE',
                         name='zone_supply_month_zone_id_fkey'),
    PrimaryKeyConstraint('zone_id', 'month', name='zone_supply_month_pkey')
)
