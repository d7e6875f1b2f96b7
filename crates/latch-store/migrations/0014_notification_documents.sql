-- Notifications are queued in the transaction of the change they report,
-- as the event's document (rendered per webhook kind at delivery). Rows
-- queued by an earlier Latch hold a body rendered already ('body').
ALTER TABLE notifications ADD COLUMN format TEXT NOT NULL DEFAULT 'body';
