-- Region levels: a region's level follows from its code when none is given (NUTS codes by
-- their length, national codes by their tag: AT-D-601 is a district); a NUTS region with no
-- parent takes the region its code extends (AT221 -> AT22 -> AT2 -> AT); a parent must be
-- of a coarser level in the same country, so each municipality has one region per level.
CREATE OR REPLACE FUNCTION region_hierarchy_derive()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            levels CONSTANT text[] := ARRAY['country', 'nuts1', 'nuts2', 'nuts3', 'district'];
            parent region%ROWTYPE;
        BEGIN
            IF NEW.level IS NULL THEN
                NEW.level := CASE WHEN NEW.code ~ '^[A-Z]{2}-D-' THEN 'district'
                                  WHEN NEW.code ~ '^[A-Z]{2}[0-9A-Z]{0,3}$'
                                      THEN levels[length(NEW.code) - 1] END;
            END IF;
            IF NEW.parent_id IS NULL AND NEW.level IN ('nuts1', 'nuts2', 'nuts3') THEN
                SELECT id INTO NEW.parent_id FROM region
                WHERE code = left(NEW.code, length(NEW.code) - 1) AND id IS DISTINCT FROM NEW.id;
            END IF;
            IF NEW.parent_id IS NOT NULL THEN
                SELECT * INTO parent FROM region WHERE id = NEW.parent_id;
                IF parent.id = NEW.id
                   OR array_position(levels, parent.level) >= array_position(levels, NEW.level)
                   OR parent.country <> NEW.country THEN
                    RAISE EXCEPTION 'region %: its parent % must be of a coarser level than % in the same country',
                        NEW.code, parent.code, NEW.level
                        USING ERRCODE = 'check_violation';
                END IF;
            END IF;
            RETURN NEW;
        END $function$;
