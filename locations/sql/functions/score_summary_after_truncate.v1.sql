-- Comparisons of regions: with every plot gone, no plot counts in the kept figures; the
-- runs' scores stay, so a plot inserted again under a scored id counts again (the insert
-- trigger).
CREATE OR REPLACE FUNCTION score_summary_after_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            LOCK TABLE score_summary_run IN ROW EXCLUSIVE MODE;
            DELETE FROM municipality_available;
            DELETE FROM score_summary;
            DELETE FROM score_histogram;
            RETURN NULL;
        END $function$;
