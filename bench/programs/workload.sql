-- The sqlite3 program of bench/programs.sh: a table filled, indexed, queried, joined and updated,
-- in memory (the database is ":memory:"), so that it measures SQLite and not the file system.
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 150000)
INSERT INTO t SELECT i, (i * 7919) % 10007, printf('name%d', (i * 31) % 5000), (i % 1000) / 8.0 FROM s;
CREATE INDEX t_a ON t(a);
CREATE INDEX t_b ON t(b);
SELECT count(*), sum(a), avg(c) FROM t;
SELECT b, count(*) AS n, sum(a) FROM t GROUP BY b ORDER BY n DESC, b LIMIT 3;
SELECT count(*), sum(y.a) FROM t AS x JOIN t AS y ON y.id = x.a WHERE x.b LIKE 'name1%';
UPDATE t SET c = c * 2 WHERE a % 3 = 0;
DELETE FROM t WHERE a % 5 = 1;
SELECT count(*), sum(c) FROM t;
SELECT a, group_concat(id, '+') FROM (SELECT a, id FROM t WHERE a < 4 ORDER BY id) GROUP BY a;
