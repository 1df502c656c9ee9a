-- Example queries over sluice_denials and the outbound_network view (denials.sql). Each names
-- itself in its first column so the output reads on its own; tests/golden/test_denial_sql.py
-- runs this file on real records and checks every answer. Times are text in RFC 3339 UTC with
-- milliseconds, so they compare as strings: strftime gives the same form.
.mode list
.separator "|"

-- 1. What was denied in the last two hours (the platform's favourite question), by destination.
--    sum(count), never count(*): one record may stand for many aggregated denials.
SELECT 'last_2h', destination, access_type, sum(sluice_count)
FROM outbound_network
WHERE event_time >= strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(:now, 'now'), '-2 hours')
GROUP BY destination, access_type
ORDER BY sum(sluice_count) DESC, destination;

-- 2. Denials by the platform's destination_type.
SELECT 'by_type', destination_type, sum(sluice_count)
FROM outbound_network
GROUP BY destination_type
ORDER BY destination_type;

-- 3. The names a dry run would have dropped: what to review before enforcing.
SELECT 'dry_run_names', dns_event_domain_name, sum(sluice_count), min(event_time), max(event_time)
FROM outbound_network
WHERE access_type = 'DRY_RUN_DENIAL' AND destination_type = 'DNS'
GROUP BY dns_event_domain_name
ORDER BY dns_event_domain_name;

-- 4. Per source: denials and distinct destinations.
SELECT 'by_source', sluice_src_ip, sum(sluice_count), count(DISTINCT destination)
FROM outbound_network
GROUP BY sluice_src_ip
ORDER BY sluice_src_ip;
