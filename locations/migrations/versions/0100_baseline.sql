-- table account
CREATE TABLE account (
    id integer NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    token_hash text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT account_name_check CHECK ((length(TRIM(BOTH FROM name)) > 0)),
    CONSTRAINT account_role_check CHECK ((role = ANY (ARRAY['investor'::text, 'municipality'::text, 'agency'::text, 'admin'::text])))
);

-- sequence account_id_seq
CREATE SEQUENCE account_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by account_id_seq
ALTER SEQUENCE account_id_seq OWNED BY account.id;

-- table account_municipality
CREATE TABLE account_municipality (
    account_id integer NOT NULL,
    municipality_id integer NOT NULL
);

-- table account_region
CREATE TABLE account_region (
    account_id integer NOT NULL,
    region_id integer NOT NULL
);

-- table auth_failure
CREATE TABLE auth_failure (
    id bigint NOT NULL,
    client text NOT NULL,
    occurred_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

-- sequence auth_failure_id_seq
CREATE SEQUENCE auth_failure_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by auth_failure_id_seq
ALTER SEQUENCE auth_failure_id_seq OWNED BY auth_failure.id;

-- table constraint_area
CREATE TABLE constraint_area (
    id integer NOT NULL,
    kind text NOT NULL,
    severity text,
    name text NOT NULL,
    boundary geometry(MultiPolygon,3035) NOT NULL,
    CONSTRAINT constraint_area_boundary_not_empty CHECK ((NOT st_isempty(boundary))),
    CONSTRAINT constraint_area_boundary_valid CHECK (st_isvalid(boundary)),
    CONSTRAINT constraint_area_kind_check CHECK ((kind = ANY (ARRAY['flood_risk'::text, 'natura2000'::text, 'water_protection'::text]))),
    CONSTRAINT constraint_area_name_check CHECK ((length(TRIM(BOTH FROM name)) > 0)),
    CONSTRAINT constraint_area_severity_check CHECK ((severity = ANY (ARRAY['high'::text, 'medium'::text, 'low'::text])))
);

-- sequence constraint_area_id_seq
CREATE SEQUENCE constraint_area_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by constraint_area_id_seq
ALTER SEQUENCE constraint_area_id_seq OWNED BY constraint_area.id;

-- table plot_score
CREATE TABLE plot_score (
    run_id bigint NOT NULL,
    plot_id bigint NOT NULL,
    total real NOT NULL,
    completeness real NOT NULL,
    passed boolean NOT NULL,
    gates_failed text[] NOT NULL,
    raw real[] NOT NULL,
    score real[] NOT NULL,
    CONSTRAINT plot_score_completeness_check CHECK (((completeness >= (0)::double precision) AND (completeness <= (1)::double precision))),
    CONSTRAINT plot_score_total_check CHECK (((total >= (0)::double precision) AND (total <= (100)::double precision)))
);

-- table score_run
CREATE TABLE score_run (
    id bigint NOT NULL,
    standard_id integer NOT NULL,
    profile text NOT NULL,
    region_code text,
    as_of date NOT NULL,
    requested_by text NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    criteria text[] NOT NULL,
    weights double precision[] NOT NULL,
    plot_count integer,
    zone_count integer,
    error text,
    CONSTRAINT score_run_finished_has_time CHECK (((status <> 'finished'::text) OR (finished_at IS NOT NULL))),
    CONSTRAINT score_run_status_check CHECK ((status = ANY (ARRAY['running'::text, 'finished'::text, 'failed'::text]))),
    CONSTRAINT score_run_weights_match CHECK ((cardinality(criteria) = cardinality(weights)))
);

-- table import_job
CREATE TABLE import_job (
    id bigint NOT NULL,
    account_id integer,
    requested_by text NOT NULL,
    target text NOT NULL,
    file_name text NOT NULL,
    options jsonb DEFAULT '{}'::jsonb NOT NULL,
    state text DEFAULT 'queued'::text NOT NULL,
    step text,
    done bigint,
    total bigint,
    report jsonb,
    error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    heartbeat_at timestamp with time zone,
    problems_csv bytea,
    CONSTRAINT import_job_finished_has_time CHECK (((state = ANY (ARRAY['queued'::text, 'running'::text])) = (finished_at IS NULL))),
    CONSTRAINT import_job_state_check CHECK ((state = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'refused'::text, 'failed'::text])))
);

-- sequence import_job_id_seq
CREATE SEQUENCE import_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by import_job_id_seq
ALTER SEQUENCE import_job_id_seq OWNED BY import_job.id;

-- table infrastructure
CREATE TABLE infrastructure (
    id integer NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    code text,
    geom geometry(Geometry,3035) NOT NULL,
    properties jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT infrastructure_geom_not_empty CHECK ((NOT st_isempty(geom))),
    CONSTRAINT infrastructure_geom_type CHECK ((geometrytype(geom) = ANY (ARRAY['POINT'::text, 'LINESTRING'::text, 'MULTILINESTRING'::text]))),
    CONSTRAINT infrastructure_geom_valid CHECK (st_isvalid(geom)),
    CONSTRAINT infrastructure_kind_check CHECK ((kind = ANY (ARRAY['motorway_junction'::text, 'rail_station'::text, 'rail_freight_terminal'::text, 'airport'::text, 'port'::text, 'substation'::text, 'broadband_node'::text, 'university'::text, 'border_crossing'::text, 'bus_stop'::text]))),
    CONSTRAINT infrastructure_name_check CHECK ((length(TRIM(BOTH FROM name)) > 0))
);

-- sequence infrastructure_id_seq
CREATE SEQUENCE infrastructure_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by infrastructure_id_seq
ALTER SEQUENCE infrastructure_id_seq OWNED BY infrastructure.id;

-- table municipality
CREATE TABLE municipality (
    id integer NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    region_id integer NOT NULL,
    country character(2) NOT NULL,
    population integer,
    area_km2 double precision,
    seat geometry(Point,3035),
    boundary geometry(MultiPolygon,3035),
    CONSTRAINT municipality_area_km2_check CHECK ((area_km2 > (0)::double precision)),
    CONSTRAINT municipality_boundary_not_empty CHECK ((NOT st_isempty(boundary))),
    CONSTRAINT municipality_boundary_valid CHECK (st_isvalid(boundary)),
    CONSTRAINT municipality_code_check CHECK ((length(TRIM(BOTH FROM code)) > 0)),
    CONSTRAINT municipality_country_check CHECK ((country ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT municipality_name_check CHECK ((length(TRIM(BOTH FROM name)) > 0)),
    CONSTRAINT municipality_population_check CHECK ((population >= 0))
);

-- sequence municipality_id_seq
CREATE SEQUENCE municipality_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by municipality_id_seq
ALTER SEQUENCE municipality_id_seq OWNED BY municipality.id;

-- table plot
CREATE TABLE plot (
    id bigint NOT NULL,
    zone_id integer NOT NULL,
    country character(2) NOT NULL,
    cadastral_ref text NOT NULL,
    boundary geometry(MultiPolygon,3035) NOT NULL,
    area_m2 double precision NOT NULL,
    status text DEFAULT 'available'::text NOT NULL,
    ownership text,
    offer text,
    price_eur_m2 numeric(10,2),
    allowed_uses text[] DEFAULT '{}'::text[] NOT NULL,
    readiness text,
    brownfield boolean DEFAULT false NOT NULL,
    power_mw double precision,
    available_from date,
    last_verified date,
    owner_contact text,
    internal_note text,
    retired_at timestamp with time zone,
    version integer DEFAULT 1 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    boundary_3857 geometry(MultiPolygon,3857) NOT NULL,
    CONSTRAINT plot_allowed_uses_check CHECK ((allowed_uses <@ ARRAY['manufacturing'::text, 'logistics'::text, 'services'::text, 'technology'::text, 'retail'::text, 'mixed'::text])),
    CONSTRAINT plot_area_positive CHECK ((area_m2 > (0)::double precision)),
    CONSTRAINT plot_boundary_not_empty CHECK ((NOT st_isempty(boundary))),
    CONSTRAINT plot_boundary_valid CHECK (st_isvalid(boundary)),
    CONSTRAINT plot_cadastral_ref_check CHECK ((length(TRIM(BOTH FROM cadastral_ref)) > 0)),
    CONSTRAINT plot_offer_check CHECK ((offer = ANY (ARRAY['sale'::text, 'lease'::text, 'sale_or_lease'::text]))),
    CONSTRAINT plot_ownership_check CHECK ((ownership = ANY (ARRAY['public'::text, 'private'::text, 'several'::text]))),
    CONSTRAINT plot_power_mw_check CHECK ((power_mw >= (0)::double precision)),
    CONSTRAINT plot_price_eur_m2_check CHECK ((price_eur_m2 > (0)::numeric)),
    CONSTRAINT plot_readiness_check CHECK ((readiness = ANY (ARRAY['registered'::text, 'serviced'::text, 'shovel_ready'::text]))),
    CONSTRAINT plot_status_known CHECK ((status = ANY (ARRAY['available'::text, 'reserved'::text, 'under_negotiation'::text, 'sold'::text, 'occupied'::text, 'not_for_sale'::text])))
);

-- table plot_event
CREATE TABLE plot_event (
    id bigint NOT NULL,
    plot_id bigint NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    account_id integer,
    action text NOT NULL,
    old_values jsonb,
    new_values jsonb,
    note text,
    CONSTRAINT plot_event_action_check CHECK ((action = ANY (ARRAY['create'::text, 'update'::text, 'verify'::text, 'retire'::text, 'import'::text])))
);

-- sequence plot_event_id_seq
CREATE SEQUENCE plot_event_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by plot_event_id_seq
ALTER SEQUENCE plot_event_id_seq OWNED BY plot_event.id;

-- sequence plot_id_seq
CREATE SEQUENCE plot_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by plot_id_seq
ALTER SEQUENCE plot_id_seq OWNED BY plot.id;

-- table plot_proximity
CREATE TABLE plot_proximity (
    plot_id bigint NOT NULL,
    motorway_km double precision,
    rail_station_km double precision,
    rail_freight_km double precision,
    airport_km double precision,
    public_transport_km double precision,
    computed_at timestamp with time zone DEFAULT now() NOT NULL
);

-- table plot_site_metrics
CREATE TABLE plot_site_metrics (
    plot_id bigint NOT NULL,
    compactness double precision NOT NULL,
    constraint_share double precision NOT NULL,
    flood_high_share double precision NOT NULL,
    labour_pool bigint,
    computed_at timestamp with time zone DEFAULT now() NOT NULL
);

-- table region
CREATE TABLE region (
    id integer NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    country character(2) NOT NULL,
    area_km2 double precision,
    boundary geometry(MultiPolygon,3035),
    CONSTRAINT region_area_km2_check CHECK ((area_km2 > (0)::double precision)),
    CONSTRAINT region_boundary_not_empty CHECK ((NOT st_isempty(boundary))),
    CONSTRAINT region_boundary_valid CHECK (st_isvalid(boundary)),
    CONSTRAINT region_code_check CHECK ((code ~ '^[A-Z]{2}[0-9A-Z]{1,3}$'::text)),
    CONSTRAINT region_country_check CHECK ((country ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT region_name_check CHECK ((length(TRIM(BOTH FROM name)) > 0))
);

-- sequence region_id_seq
CREATE SEQUENCE region_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by region_id_seq
ALTER SEQUENCE region_id_seq OWNED BY region.id;

-- sequence score_run_id_seq
CREATE SEQUENCE score_run_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by score_run_id_seq
ALTER SEQUENCE score_run_id_seq OWNED BY score_run.id;

-- table standard
CREATE TABLE standard (
    id integer NOT NULL,
    name text NOT NULL,
    version text NOT NULL,
    digest text NOT NULL,
    document jsonb NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL
);

-- sequence standard_id_seq
CREATE SEQUENCE standard_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by standard_id_seq
ALTER SEQUENCE standard_id_seq OWNED BY standard.id;

-- table zone
CREATE TABLE zone (
    id integer NOT NULL,
    municipality_id integer NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    lifecycle text DEFAULT 'operational'::text NOT NULL,
    allowed_uses text[] DEFAULT '{}'::text[] NOT NULL,
    brownfield boolean DEFAULT false NOT NULL,
    power_mw double precision,
    gas boolean,
    water boolean,
    sewage text,
    broadband text,
    rail_siding boolean,
    district_heating boolean,
    manager_name text,
    manager_email text,
    manager_phone text,
    description_en text,
    description_sl text,
    description_de text,
    property_sheet_url text,
    facts_source text,
    boundary geometry(MultiPolygon,3035) NOT NULL,
    area_m2 double precision GENERATED ALWAYS AS (st_area(boundary)) STORED,
    last_verified date,
    version integer DEFAULT 1 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT zone_allowed_uses_check CHECK ((allowed_uses <@ ARRAY['manufacturing'::text, 'logistics'::text, 'services'::text, 'technology'::text, 'retail'::text, 'mixed'::text])),
    CONSTRAINT zone_area_positive CHECK ((area_m2 > (0)::double precision)),
    CONSTRAINT zone_boundary_not_empty CHECK ((NOT st_isempty(boundary))),
    CONSTRAINT zone_boundary_valid CHECK (st_isvalid(boundary)),
    CONSTRAINT zone_broadband_check CHECK ((broadband = ANY (ARRAY['none'::text, 'basic'::text, 'fast'::text, 'ftth'::text]))),
    CONSTRAINT zone_kind_check CHECK ((kind = ANY (ARRAY['industrial'::text, 'business'::text, 'logistics'::text, 'technology'::text, 'mixed'::text]))),
    CONSTRAINT zone_lifecycle_check CHECK ((lifecycle = ANY (ARRAY['planned'::text, 'developing'::text, 'operational'::text]))),
    CONSTRAINT zone_name_check CHECK ((length(TRIM(BOTH FROM name)) > 0)),
    CONSTRAINT zone_power_mw_check CHECK ((power_mw >= (0)::double precision)),
    CONSTRAINT zone_sewage_check CHECK ((sewage = ANY (ARRAY['treated'::text, 'other'::text, 'none'::text])))
);

-- table zone_event
CREATE TABLE zone_event (
    id bigint NOT NULL,
    zone_id integer NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    account_id integer,
    action text NOT NULL,
    old_values jsonb,
    new_values jsonb,
    note text,
    CONSTRAINT zone_event_action_check CHECK ((action = ANY (ARRAY['update'::text, 'verify'::text])))
);

-- sequence zone_event_id_seq
CREATE SEQUENCE zone_event_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by zone_event_id_seq
ALTER SEQUENCE zone_event_id_seq OWNED BY zone_event.id;

-- sequence zone_id_seq
CREATE SEQUENCE zone_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- sequence owned by zone_id_seq
ALTER SEQUENCE zone_id_seq OWNED BY zone.id;

-- table zone_score
CREATE TABLE zone_score (
    run_id bigint NOT NULL,
    zone_id integer NOT NULL,
    plot_count integer NOT NULL,
    available_plots integer NOT NULL,
    available_area_m2 double precision NOT NULL,
    best_plot_id bigint,
    best_total real,
    mean_total real,
    criteria jsonb NOT NULL
);

-- table zone_summary
CREATE TABLE zone_summary (
    zone_id integer NOT NULL,
    plot_count integer DEFAULT 0 NOT NULL,
    plot_area_m2 numeric DEFAULT 0 NOT NULL,
    available_area_m2 numeric DEFAULT 0 NOT NULL,
    taken_area_m2 numeric DEFAULT 0 NOT NULL,
    available_count integer DEFAULT 0 NOT NULL,
    reserved_count integer DEFAULT 0 NOT NULL,
    under_negotiation_count integer DEFAULT 0 NOT NULL,
    sold_count integer DEFAULT 0 NOT NULL,
    occupied_count integer DEFAULT 0 NOT NULL,
    not_for_sale_count integer DEFAULT 0 NOT NULL,
    occupancy_share double precision GENERATED ALWAYS AS (
CASE
    WHEN ((plot_count > 0) AND (plot_area_m2 > (0)::numeric)) THEN ((taken_area_m2 / plot_area_m2))::double precision
    ELSE NULL::double precision
END) STORED,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

-- default account id
ALTER TABLE ONLY account ALTER COLUMN id SET DEFAULT nextval('account_id_seq'::regclass);

-- default auth_failure id
ALTER TABLE ONLY auth_failure ALTER COLUMN id SET DEFAULT nextval('auth_failure_id_seq'::regclass);

-- default constraint_area id
ALTER TABLE ONLY constraint_area ALTER COLUMN id SET DEFAULT nextval('constraint_area_id_seq'::regclass);

-- default import_job id
ALTER TABLE ONLY import_job ALTER COLUMN id SET DEFAULT nextval('import_job_id_seq'::regclass);

-- default infrastructure id
ALTER TABLE ONLY infrastructure ALTER COLUMN id SET DEFAULT nextval('infrastructure_id_seq'::regclass);

-- default municipality id
ALTER TABLE ONLY municipality ALTER COLUMN id SET DEFAULT nextval('municipality_id_seq'::regclass);

-- default plot id
ALTER TABLE ONLY plot ALTER COLUMN id SET DEFAULT nextval('plot_id_seq'::regclass);

-- default plot_event id
ALTER TABLE ONLY plot_event ALTER COLUMN id SET DEFAULT nextval('plot_event_id_seq'::regclass);

-- default region id
ALTER TABLE ONLY region ALTER COLUMN id SET DEFAULT nextval('region_id_seq'::regclass);

-- default score_run id
ALTER TABLE ONLY score_run ALTER COLUMN id SET DEFAULT nextval('score_run_id_seq'::regclass);

-- default standard id
ALTER TABLE ONLY standard ALTER COLUMN id SET DEFAULT nextval('standard_id_seq'::regclass);

-- default zone id
ALTER TABLE ONLY zone ALTER COLUMN id SET DEFAULT nextval('zone_id_seq'::regclass);

-- default zone_event id
ALTER TABLE ONLY zone_event ALTER COLUMN id SET DEFAULT nextval('zone_event_id_seq'::regclass);

-- constraint account_municipality account_municipality_pkey
ALTER TABLE ONLY account_municipality
    ADD CONSTRAINT account_municipality_pkey PRIMARY KEY (account_id, municipality_id);

-- constraint account account_name_key
ALTER TABLE ONLY account
    ADD CONSTRAINT account_name_key UNIQUE (name);

-- constraint account account_pkey
ALTER TABLE ONLY account
    ADD CONSTRAINT account_pkey PRIMARY KEY (id);

-- constraint account_region account_region_pkey
ALTER TABLE ONLY account_region
    ADD CONSTRAINT account_region_pkey PRIMARY KEY (account_id, region_id);

-- constraint account account_token_hash_key
ALTER TABLE ONLY account
    ADD CONSTRAINT account_token_hash_key UNIQUE (token_hash);

-- constraint auth_failure auth_failure_pkey
ALTER TABLE ONLY auth_failure
    ADD CONSTRAINT auth_failure_pkey PRIMARY KEY (id);

-- constraint constraint_area constraint_area_kind_name_key
ALTER TABLE ONLY constraint_area
    ADD CONSTRAINT constraint_area_kind_name_key UNIQUE (kind, name);

-- constraint constraint_area constraint_area_pkey
ALTER TABLE ONLY constraint_area
    ADD CONSTRAINT constraint_area_pkey PRIMARY KEY (id);

-- constraint import_job import_job_pkey
ALTER TABLE ONLY import_job
    ADD CONSTRAINT import_job_pkey PRIMARY KEY (id);

-- constraint infrastructure infrastructure_kind_name_key
ALTER TABLE ONLY infrastructure
    ADD CONSTRAINT infrastructure_kind_name_key UNIQUE (kind, name);

-- constraint infrastructure infrastructure_pkey
ALTER TABLE ONLY infrastructure
    ADD CONSTRAINT infrastructure_pkey PRIMARY KEY (id);

-- constraint municipality municipality_country_code_key
ALTER TABLE ONLY municipality
    ADD CONSTRAINT municipality_country_code_key UNIQUE (country, code);

-- constraint municipality municipality_pkey
ALTER TABLE ONLY municipality
    ADD CONSTRAINT municipality_pkey PRIMARY KEY (id);

-- constraint plot plot_cadastral_ref_unique_in_country
ALTER TABLE ONLY plot
    ADD CONSTRAINT plot_cadastral_ref_unique_in_country UNIQUE (country, cadastral_ref);

-- constraint plot_event plot_event_pkey
ALTER TABLE ONLY plot_event
    ADD CONSTRAINT plot_event_pkey PRIMARY KEY (id);

-- constraint plot plot_pkey
ALTER TABLE ONLY plot
    ADD CONSTRAINT plot_pkey PRIMARY KEY (id);

-- constraint plot_proximity plot_proximity_pkey
ALTER TABLE ONLY plot_proximity
    ADD CONSTRAINT plot_proximity_pkey PRIMARY KEY (plot_id);

-- constraint plot_score plot_score_pkey
ALTER TABLE ONLY plot_score
    ADD CONSTRAINT plot_score_pkey PRIMARY KEY (run_id, plot_id);

-- constraint plot_site_metrics plot_site_metrics_pkey
ALTER TABLE ONLY plot_site_metrics
    ADD CONSTRAINT plot_site_metrics_pkey PRIMARY KEY (plot_id);

-- constraint region region_code_key
ALTER TABLE ONLY region
    ADD CONSTRAINT region_code_key UNIQUE (code);

-- constraint region region_pkey
ALTER TABLE ONLY region
    ADD CONSTRAINT region_pkey PRIMARY KEY (id);

-- constraint score_run score_run_pkey
ALTER TABLE ONLY score_run
    ADD CONSTRAINT score_run_pkey PRIMARY KEY (id);

-- constraint standard standard_name_version_digest_key
ALTER TABLE ONLY standard
    ADD CONSTRAINT standard_name_version_digest_key UNIQUE (name, version, digest);

-- constraint standard standard_pkey
ALTER TABLE ONLY standard
    ADD CONSTRAINT standard_pkey PRIMARY KEY (id);

-- constraint zone_event zone_event_pkey
ALTER TABLE ONLY zone_event
    ADD CONSTRAINT zone_event_pkey PRIMARY KEY (id);

-- constraint zone zone_municipality_id_name_key
ALTER TABLE ONLY zone
    ADD CONSTRAINT zone_municipality_id_name_key UNIQUE (municipality_id, name);

-- constraint zone zone_pkey
ALTER TABLE ONLY zone
    ADD CONSTRAINT zone_pkey PRIMARY KEY (id);

-- constraint zone_score zone_score_pkey
ALTER TABLE ONLY zone_score
    ADD CONSTRAINT zone_score_pkey PRIMARY KEY (run_id, zone_id);

-- constraint zone_summary zone_summary_pkey
ALTER TABLE ONLY zone_summary
    ADD CONSTRAINT zone_summary_pkey PRIMARY KEY (zone_id);

-- index auth_failure_client_time_idx
CREATE INDEX auth_failure_client_time_idx ON auth_failure USING btree (client, occurred_at);

-- index constraint_area_boundary_gist
CREATE INDEX constraint_area_boundary_gist ON constraint_area USING gist (boundary);

-- index import_job_account_idx
CREATE INDEX import_job_account_idx ON import_job USING btree (account_id, id);

-- index infrastructure_airport_gist
CREATE INDEX infrastructure_airport_gist ON infrastructure USING gist (geom) WHERE (kind = 'airport'::text);

-- index infrastructure_geom_gist
CREATE INDEX infrastructure_geom_gist ON infrastructure USING gist (geom);

-- index infrastructure_kind_idx
CREATE INDEX infrastructure_kind_idx ON infrastructure USING btree (kind);

-- index infrastructure_motorway_gist
CREATE INDEX infrastructure_motorway_gist ON infrastructure USING gist (geom) WHERE (kind = 'motorway_junction'::text);

-- index infrastructure_public_transport_gist
CREATE INDEX infrastructure_public_transport_gist ON infrastructure USING gist (geom) WHERE (kind = ANY (ARRAY['rail_station'::text, 'bus_stop'::text]));

-- index infrastructure_rail_freight_gist
CREATE INDEX infrastructure_rail_freight_gist ON infrastructure USING gist (geom) WHERE (kind = 'rail_freight_terminal'::text);

-- index infrastructure_rail_station_gist
CREATE INDEX infrastructure_rail_station_gist ON infrastructure USING gist (geom) WHERE (kind = 'rail_station'::text);

-- index municipality_boundary_gist
CREATE INDEX municipality_boundary_gist ON municipality USING gist (boundary);

-- index municipality_region_idx
CREATE INDEX municipality_region_idx ON municipality USING btree (region_id);

-- index municipality_seat_gist
CREATE INDEX municipality_seat_gist ON municipality USING gist (seat);

-- index plot_boundary_gist
CREATE INDEX plot_boundary_gist ON plot USING gist (boundary);

-- index plot_event_plot_idx
CREATE INDEX plot_event_plot_idx ON plot_event USING btree (plot_id, id);

-- index plot_event_time_idx
CREATE INDEX plot_event_time_idx ON plot_event USING btree (occurred_at);

-- index plot_last_verified_idx
CREATE INDEX plot_last_verified_idx ON plot USING btree (last_verified);

-- index plot_price_idx
CREATE INDEX plot_price_idx ON plot USING btree (price_eur_m2);

-- index plot_proximity_airport_idx
CREATE INDEX plot_proximity_airport_idx ON plot_proximity USING btree (airport_km);

-- index plot_proximity_motorway_idx
CREATE INDEX plot_proximity_motorway_idx ON plot_proximity USING btree (motorway_km);

-- index plot_proximity_motorway_sort_idx
CREATE INDEX plot_proximity_motorway_sort_idx ON plot_proximity USING btree (COALESCE(motorway_km, 'Infinity'::double precision), plot_id);

-- index plot_proximity_rail_station_idx
CREATE INDEX plot_proximity_rail_station_idx ON plot_proximity USING btree (rail_station_km);

-- index plot_search_area_idx
CREATE INDEX plot_search_area_idx ON plot USING btree (area_m2, id);

-- index plot_search_price_idx
CREATE INDEX plot_search_price_idx ON plot USING btree (COALESCE(price_eur_m2, 'Infinity'::numeric), id);

-- index plot_search_verified_desc_idx
CREATE INDEX plot_search_verified_desc_idx ON plot USING btree (COALESCE(last_verified, '-infinity'::date), id);

-- index plot_search_zone_idx
CREATE INDEX plot_search_zone_idx ON plot USING btree (zone_id, id);

-- index plot_status_idx
CREATE INDEX plot_status_idx ON plot USING btree (status);

-- index region_boundary_gist
CREATE INDEX region_boundary_gist ON region USING gist (boundary);

-- index score_run_latest_idx
CREATE INDEX score_run_latest_idx ON score_run USING btree (profile, finished_at DESC) WHERE (status = 'finished'::text);

-- index zone_boundary_gist
CREATE INDEX zone_boundary_gist ON zone USING gist (boundary);

-- index zone_event_time_idx
CREATE INDEX zone_event_time_idx ON zone_event USING btree (occurred_at);

-- index zone_event_zone_idx
CREATE INDEX zone_event_zone_idx ON zone_event USING btree (zone_id, id);

-- index zone_municipality_idx
CREATE INDEX zone_municipality_idx ON zone USING btree (municipality_id);

-- fk constraint account_municipality account_municipality_account_id_fkey
ALTER TABLE ONLY account_municipality
    ADD CONSTRAINT account_municipality_account_id_fkey FOREIGN KEY (account_id) REFERENCES account(id) ON DELETE CASCADE;

-- fk constraint account_municipality account_municipality_municipality_id_fkey
ALTER TABLE ONLY account_municipality
    ADD CONSTRAINT account_municipality_municipality_id_fkey FOREIGN KEY (municipality_id) REFERENCES municipality(id) ON DELETE CASCADE;

-- fk constraint account_region account_region_account_id_fkey
ALTER TABLE ONLY account_region
    ADD CONSTRAINT account_region_account_id_fkey FOREIGN KEY (account_id) REFERENCES account(id) ON DELETE CASCADE;

-- fk constraint account_region account_region_region_id_fkey
ALTER TABLE ONLY account_region
    ADD CONSTRAINT account_region_region_id_fkey FOREIGN KEY (region_id) REFERENCES region(id) ON DELETE CASCADE;

-- fk constraint import_job import_job_account_id_fkey
ALTER TABLE ONLY import_job
    ADD CONSTRAINT import_job_account_id_fkey FOREIGN KEY (account_id) REFERENCES account(id) ON DELETE SET NULL;

-- fk constraint municipality municipality_region_id_fkey
ALTER TABLE ONLY municipality
    ADD CONSTRAINT municipality_region_id_fkey FOREIGN KEY (region_id) REFERENCES region(id) ON DELETE RESTRICT;

-- fk constraint plot_event plot_event_account_id_fkey
ALTER TABLE ONLY plot_event
    ADD CONSTRAINT plot_event_account_id_fkey FOREIGN KEY (account_id) REFERENCES account(id) ON DELETE SET NULL;

-- fk constraint plot_event plot_event_plot_id_fkey
ALTER TABLE ONLY plot_event
    ADD CONSTRAINT plot_event_plot_id_fkey FOREIGN KEY (plot_id) REFERENCES plot(id) ON DELETE RESTRICT;

-- fk constraint plot_site_metrics plot_site_metrics_plot_id_fkey
ALTER TABLE ONLY plot_site_metrics
    ADD CONSTRAINT plot_site_metrics_plot_id_fkey FOREIGN KEY (plot_id) REFERENCES plot(id) ON DELETE CASCADE;

-- fk constraint plot plot_zone_id_fkey
ALTER TABLE ONLY plot
    ADD CONSTRAINT plot_zone_id_fkey FOREIGN KEY (zone_id) REFERENCES zone(id) ON DELETE RESTRICT;

-- fk constraint score_run score_run_standard_id_fkey
ALTER TABLE ONLY score_run
    ADD CONSTRAINT score_run_standard_id_fkey FOREIGN KEY (standard_id) REFERENCES standard(id) ON DELETE RESTRICT;

-- fk constraint zone_event zone_event_account_id_fkey
ALTER TABLE ONLY zone_event
    ADD CONSTRAINT zone_event_account_id_fkey FOREIGN KEY (account_id) REFERENCES account(id) ON DELETE SET NULL;

-- fk constraint zone_event zone_event_zone_id_fkey
ALTER TABLE ONLY zone_event
    ADD CONSTRAINT zone_event_zone_id_fkey FOREIGN KEY (zone_id) REFERENCES zone(id) ON DELETE RESTRICT;

-- fk constraint zone zone_municipality_id_fkey
ALTER TABLE ONLY zone
    ADD CONSTRAINT zone_municipality_id_fkey FOREIGN KEY (municipality_id) REFERENCES municipality(id) ON DELETE RESTRICT;

-- fk constraint zone_score zone_score_run_id_fkey
ALTER TABLE ONLY zone_score
    ADD CONSTRAINT zone_score_run_id_fkey FOREIGN KEY (run_id) REFERENCES score_run(id) ON DELETE CASCADE;

-- fk constraint zone_summary zone_summary_zone_id_fkey
ALTER TABLE ONLY zone_summary
    ADD CONSTRAINT zone_summary_zone_id_fkey FOREIGN KEY (zone_id) REFERENCES zone(id) ON DELETE CASCADE;
