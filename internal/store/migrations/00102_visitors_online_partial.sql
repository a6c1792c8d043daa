-- +goose Up
-- The index of the visitors online lists only them. It indexed every
-- visitor by the flag, so that each widget opening moved the visitor's entry
-- from the offline part to the online part (two pages of write-ahead log),
-- each leave back again, and each new visitor added an entry no query reads
-- (nothing looks visitors up by online = 0 through it: they are nearly all
-- of them). Now an opening adds an entry, a leave removes it, and a new
-- visitor writes none.
DROP INDEX visitors_online;
CREATE INDEX visitors_online ON visitors (id) WHERE online = 1;

-- +goose Down
DROP INDEX visitors_online;
CREATE INDEX visitors_online ON visitors (online);
