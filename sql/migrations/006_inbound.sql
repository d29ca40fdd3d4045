-- 006_inbound.sql -- what the content of mail to an inbox says: its
-- parsed bodies and attachments, and bounces and complaints that arrive
-- by mail, stored on the inbound row.  Matching a report to the message it
-- is about, and its events, is sql/functions/reports.sql; the row and the
-- message.parsed event are written by sql/functions/record.sql.

SET LOCAL search_path = postinbox, pg_catalog, public;

-- What inbound_analyse() found in an inbound message: the report (NULL
-- for ordinary mail), and whether the copy it read was cut at
-- parse_max_size.
ALTER TABLE message ADD COLUMN report jsonb,
                    ADD COLUMN content_truncated boolean NOT NULL DEFAULT false,
                    ADD COLUMN text_body text,          -- the text/plain body, UTF-8, capped
                    ADD COLUMN html_body text,          -- the text/html body, UTF-8, capped
                    ADD COLUMN reply_text text,         -- the text without quoted history
                    ADD COLUMN attachments jsonb,       -- [{filename, contentType, contentId, inline, size, sha256}]
                    ADD COLUMN parse_defects integer;   -- how often the MIME parser had to guess
