-- Sluice denial records in SQLite: a table with the record's fields (docs/RECORDS.md) and a view
-- shaped like the data platform's system.access.outbound_network denial table
-- (docs/QUERIES.md has the column mapping). Load with load_jsonl.sql; examples: queries.sql.

CREATE TABLE IF NOT EXISTS sluice_denials (
  event_time       TEXT    NOT NULL,  -- RFC 3339, UTC, milliseconds: sorts as text
  access_type      TEXT    NOT NULL,  -- DROP | DRY_RUN_DENIAL
  policy           TEXT    NOT NULL,
  source_label     TEXT,
  src_ip           TEXT,
  src_port         INTEGER,
  dst_ip           TEXT,
  dst_port         INTEGER,
  protocol         TEXT,              -- TCP | UDP | ICMP | ICMPV6 | an IP protocol number
  destination_type TEXT,              -- SNI | HTTP_HOST | DNS | IP | QUIC_SNI | STORAGE
  destination      TEXT,
  reason           TEXT,
  flow_id          INTEGER,
  appliance        TEXT,
  count            INTEGER NOT NULL DEFAULT 1,  -- denials the record stands for (aggregation)
  event_id         TEXT,              -- the record's UUID (records before it had none: NULL)
  tenant_fields    TEXT               -- the policy set's record_fields as a JSON object ('{}' if none)
);
CREATE INDEX IF NOT EXISTS sluice_denials_time ON sluice_denials (event_time);
-- Not UNIQUE: the same file loaded twice, or a copy of a record, must not stop a load.
CREATE INDEX IF NOT EXISTS sluice_denials_event_id ON sluice_denials (event_id);

-- The platform's denial table, one row per record. Its destination_type knows DNS (a name),
-- IP and STORAGE; ours says how the name was read, which stays in sluice_destination_type.
-- A record of a DNS query to a resolver we refused is an IP row (the resolver's address).
CREATE VIEW IF NOT EXISTS outbound_network AS
SELECT
  coalesce(event_id, appliance || ':' || flow_id || ':' || event_time) AS event_id,
  event_time,
  access_type,
  CASE destination_type
    WHEN 'SNI' THEN 'DNS' WHEN 'HTTP_HOST' THEN 'DNS' WHEN 'QUIC_SNI' THEN 'DNS'
    WHEN 'STORAGE' THEN 'STORAGE' ELSE 'IP' END                 AS destination_type,
  destination,
  CASE WHEN destination_type IN ('SNI', 'HTTP_HOST', 'QUIC_SNI')
       THEN destination END                                     AS dns_event_domain_name,
  dst_ip                                                        AS ip_event_destination_ip,
  dst_port                                                      AS ip_event_destination_port,
  source_label                                                  AS network_source_type,
  policy                                                        AS sluice_policy,
  src_ip                                                        AS sluice_src_ip,
  protocol                                                      AS sluice_protocol,
  destination_type                                              AS sluice_destination_type,
  reason                                                        AS sluice_reason,
  count                                                         AS sluice_count,
  json_extract(tenant_fields, '$.account_id')                   AS account_id,
  json_extract(tenant_fields, '$.workspace_id')                 AS workspace_id,
  tenant_fields                                                 AS sluice_tenant_fields
FROM sluice_denials;
