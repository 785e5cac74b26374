//go:build !noembed

package embeddeddb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"

	// The SQLite driver FerretDB itself uses (already linked through it).
	_ "modernc.org/sqlite"
)

// Lookups answers, straight from the embedded database's SQLite files, the
// queries that FerretDB v1's SQLite backend answers by reading the whole
// collection: it pushes down nothing but string `_id` equality, and even that
// scans, because its `_id_` index is on `_ferretdb_sjson->"_id"` while its
// query compares `_ferretdb_sjson->'$._id'` (SQLite uses an expression index
// only for the same expression). Lookups returns `_id`s only; the documents
// are still read through FerretDB, by `_id`, which Index makes an index
// search.
//
// It reads FerretDB's storage format: one table per collection, named in
// `_ferretdb_collections`, with the document as JSON in `_ferretdb_sjson`
// (values of the types the service stores are plain JSON there). That format
// is FerretDB v1.24's; TestLookupsMatchFerretDB checks it.
type Lookups struct {
	db *sql.DB

	mu sync.Mutex
	// arrays are the array fields IndexArray has indexed in this process's
	// life, "<collection>.<field>": their triggers and table are current.
	arrays map[string]string
}

// OpenLookups opens the SQLite file of database in dataDir, the directory
// given to Start. The file need not exist yet: FerretDB creates it with the
// first collection, and calls fail until then.
func OpenLookups(dataDir, database string) (*Lookups, error) {
	if !safeName.MatchString(database) {
		return nil, fmt.Errorf("embedded lookups: database name %q", database)
	}
	abs, err := filepath.Abs(filepath.Join(dataDir, database+".sqlite"))
	if err != nil {
		return nil, fmt.Errorf("embedded lookups: %w", err)
	}
	// FerretDB's own settings: it waits 10 s for a lock; the file is in WAL
	// mode, so reads never wait for its writers.
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: "_pragma=busy_timeout(10000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("embedded lookups: open %s: %w", abs, err)
	}
	db.SetMaxOpenConns(4)
	return &Lookups{db: db, arrays: map[string]string{}}, nil
}

// Close closes the file.
func (l *Lookups) Close() error { return l.db.Close() }

// safeName is what may be written into SQL as a JSON path or a file name.
var safeName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ErrNoCollection is returned for a collection FerretDB has not created.
var ErrNoCollection = errors.New("no such collection in the embedded database")

// table is the SQLite table of collection.
func (l *Lookups) table(ctx context.Context, collection string) (string, error) {
	var table string
	err := l.db.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, collection).Scan(&table)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: %s", ErrNoCollection, collection)
	}
	if err != nil {
		return "", fmt.Errorf("embedded lookups: table of %s: %w", collection, err)
	}
	return table, nil
}

// field is the SQL expression of a top-level field's value (NULL when
// missing; an integer or a text for the types the service looks up).
func field(name string) (string, error) {
	if !safeName.MatchString(name) {
		return "", fmt.Errorf("embedded lookups: field name %q", name)
	}
	return fmt.Sprintf(`_ferretdb_sjson->>'$.%s'`, name), nil
}

// idExpr is the expression FerretDB's `_id` pushdown compares (see Lookups).
const idExpr = `_ferretdb_sjson->'$._id'`

// Index creates, when missing, the indexes that make Lookups and FerretDB's
// `_id` equality index searches on collection: one on the expression
// FerretDB's pushdown compares and one per field. They are named
// sports_<table>_<field>, survive restarts, and are unknown to FerretDB's
// metadata (listIndexes does not show them; dropping the collection drops
// them). A collection that does not exist yet is created first through
// FerretDB by the caller; here it is ErrNoCollection.
func (l *Lookups) Index(ctx context.Context, collection string, fields ...string) error {
	table, err := l.table(ctx, collection)
	if err != nil {
		return err
	}
	exprs := map[string]string{"id": idExpr}
	for _, f := range fields {
		e, err := field(f)
		if err != nil {
			return err
		}
		exprs[f] = e
	}
	for name, expr := range exprs {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, "sports_"+table+"_"+name, table, expr)
		if _, err := l.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("embedded lookups: index %s.%s: %w", collection, name, err)
		}
	}
	return nil
}

// Equal returns the `_id`s of up to limit documents of collection whose
// field equals value.
func (l *Lookups) Equal(ctx context.Context, collection, name string, value any, limit int) ([]string, error) {
	f, err := field(name)
	if err != nil {
		return nil, err
	}
	return l.ids(ctx, collection, `SELECT _ferretdb_sjson->>'$._id' FROM %q WHERE `+f+` = ? LIMIT ?`, value, limit)
}

// Contains returns the `_id`s of up to limit documents of collection whose
// array field holds value: from the table of IndexArray, or else by reading
// every document that has the field.
func (l *Lookups) Contains(ctx context.Context, collection, name string, value any, limit int) ([]string, error) {
	if !safeName.MatchString(name) {
		return nil, fmt.Errorf("embedded lookups: field name %q", name)
	}
	l.mu.Lock()
	elements, indexed := l.arrays[collection+"."+name]
	l.mu.Unlock()
	if indexed {
		return l.query(ctx, collection, fmt.Sprintf(`SELECT DISTINCT id FROM %q WHERE value = ? LIMIT ?`, elements), value, limit)
	}
	q := `SELECT t._ferretdb_sjson->>'$._id' FROM %q AS t WHERE EXISTS (SELECT 1 FROM json_each(t._ferretdb_sjson, '$.` + name + `') WHERE value = ?) LIMIT ?`
	return l.ids(ctx, collection, q, value, limit)
}

// IndexArray indexes the elements of an array field of collection: SQLite
// cannot index them in the collection's table, so a table of its own,
// sports_<table>_<field> (element, `_id`), holds them, kept by triggers on
// the collection's table that run inside FerretDB's own writes. It is
// rebuilt from the documents each time (the triggers are dropped with the
// collection's table, the table is not), under one write transaction, so
// no write of FerretDB's falls between the rebuild and the triggers.
func (l *Lookups) IndexArray(ctx context.Context, collection, name string) error {
	if !safeName.MatchString(name) {
		return fmt.Errorf("embedded lookups: field name %q", name)
	}
	table, err := l.table(ctx, collection)
	if err != nil {
		return err
	}
	elements := "sports_" + table + "_" + name
	path := "'$." + name + "'"
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("embedded lookups: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("embedded lookups: index %s.%s: %w", collection, name, err)
	}
	steps := []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %q (value ANY, id TEXT NOT NULL) STRICT`, elements),
		fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (value)`, elements+"_value", elements),
		fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (id)`, elements+"_id", elements),
		fmt.Sprintf(`DELETE FROM %q`, elements),
		fmt.Sprintf(`INSERT INTO %q SELECT j.value, t._ferretdb_sjson->>'$._id' FROM %q AS t, json_each(t._ferretdb_sjson, %s) AS j`, elements, table, path),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %q AFTER INSERT ON %q BEGIN
			INSERT INTO %q SELECT value, new._ferretdb_sjson->>'$._id' FROM json_each(new._ferretdb_sjson, %s); END`,
			elements+"_insert", table, elements, path),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %q AFTER UPDATE ON %q BEGIN
			DELETE FROM %q WHERE id = old._ferretdb_sjson->>'$._id';
			INSERT INTO %q SELECT value, new._ferretdb_sjson->>'$._id' FROM json_each(new._ferretdb_sjson, %s); END`,
			elements+"_update", table, elements, elements, path),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %q AFTER DELETE ON %q BEGIN
			DELETE FROM %q WHERE id = old._ferretdb_sjson->>'$._id'; END`,
			elements+"_delete", table, elements),
	}
	for _, q := range steps {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			return fmt.Errorf("embedded lookups: index %s.%s: %w", collection, name, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return fmt.Errorf("embedded lookups: index %s.%s: %w", collection, name, err)
	}
	l.mu.Lock()
	l.arrays[collection+"."+name] = elements
	l.mu.Unlock()
	return nil
}

// After returns the `_id`s of up to limit documents of collection whose
// integer field is greater than after, in the order of that field.
func (l *Lookups) After(ctx context.Context, collection, name string, after int64, limit int) ([]string, error) {
	f, err := field(name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	return l.ids(ctx, collection, `SELECT _ferretdb_sjson->>'$._id' FROM %q WHERE `+f+` > ? ORDER BY `+f+` LIMIT ?`, after, limit)
}

// Count returns the number of documents in collection (0 when FerretDB has
// not created it).
func (l *Lookups) Count(ctx context.Context, collection string) (int64, error) {
	table, err := l.table(ctx, collection)
	if errors.Is(err, ErrNoCollection) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int64
	if err := l.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %q`, table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("embedded lookups: count %s: %w", collection, err)
	}
	return n, nil
}

// ids runs query (with %q for the table) and returns the first column. A
// collection FerretDB has not created holds nothing.
func (l *Lookups) ids(ctx context.Context, collection, query string, args ...any) ([]string, error) {
	table, err := l.table(ctx, collection)
	if errors.Is(err, ErrNoCollection) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return l.query(ctx, collection, fmt.Sprintf(query, table), args...)
}

// query runs a query whose first column is an `_id` and returns them.
func (l *Lookups) query(ctx context.Context, collection, query string, args ...any) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("embedded lookups in %s: %w", collection, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id sql.NullString
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("embedded lookups in %s: %w", collection, err)
		}
		if id.Valid {
			ids = append(ids, id.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded lookups in %s: %w", collection, err)
	}
	return ids, nil
}
