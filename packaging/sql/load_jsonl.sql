-- Loads ./denials.jsonl into sluice_denials (after denials.sql), in the sqlite3 shell, from the
-- directory holding the file (the shell's .import takes no parameter; for a rotated file, copy
-- or link it to denials.jsonl first):
--   cd /var/log/sluice && sqlite3 /tmp/denials.db '.read /usr/share/sluice/sql/denials.sql' \
--     '.read /usr/share/sluice/sql/load_jsonl.sql'
-- Each line is taken whole (ASCII mode: the unit separator never occurs in JSON) and split with
-- SQLite's JSON functions; a line that is not valid JSON (a torn last line) is skipped.
CREATE TEMP TABLE IF NOT EXISTS sluice_denial_lines (line TEXT);
DELETE FROM sluice_denial_lines;
.mode ascii
.separator "\037" "\n"
.import denials.jsonl sluice_denial_lines
.mode list
INSERT INTO sluice_denials
SELECT json_extract(line, '$.event_time'), json_extract(line, '$.access_type'), json_extract(line, '$.policy'),
       json_extract(line, '$.source_label'), json_extract(line, '$.src_ip'), json_extract(line, '$.src_port'),
       json_extract(line, '$.dst_ip'), json_extract(line, '$.dst_port'), json_extract(line, '$.protocol'),
       json_extract(line, '$.destination_type'), json_extract(line, '$.destination'),
       json_extract(line, '$.reason'), json_extract(line, '$.flow_id'), json_extract(line, '$.appliance'),
       max(coalesce(json_extract(line, '$.count'), 1), 1), json_extract(line, '$.event_id'),
       -- what is left of the record without its own fields: the tenant fields (record_fields)
       json_remove(line, '$.event_time', '$.access_type', '$.policy', '$.source_label', '$.src_ip',
                   '$.src_port', '$.dst_ip', '$.dst_port', '$.protocol', '$.destination_type',
                   '$.destination', '$.reason', '$.flow_id', '$.appliance', '$.count', '$.dns_event',
                   '$.event_id', '$.storage_event')
FROM sluice_denial_lines
WHERE json_valid(line) AND json_extract(line, '$.event_time') IS NOT NULL;
