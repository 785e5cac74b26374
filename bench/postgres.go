package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// postgres is a throwaway PostgreSQL cluster in a temporary directory on a
// loopback port, for FerretDB's postgresql handler.
type postgres struct {
	dir, url string
	asUser   []string // runuser prefix when the suite runs as root
}

// startPostgres runs initdb and pg_ctl from Debian's postgresql package.
// PostgreSQL refuses to run as root, so as root the cluster belongs to the
// postgres user.
func startPostgres(ctx context.Context, s *suite) (*postgres, error) {
	initdb, err := pgBinary("initdb")
	if err != nil {
		return nil, err
	}
	pgctl, err := pgBinary("pg_ctl")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sports-bench-pg-")
	if err != nil {
		return nil, err
	}
	pg := &postgres{dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := pg.exec(ctx, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"); err != nil {
		pg.remove()
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", port, dir)
	if err := pg.exec(ctx, pgctl, "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-o", opts, "start"); err != nil {
		pg.remove()
		return nil, err
	}
	if err := pg.exec(ctx, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", "-q", "-c", "CREATE DATABASE ferretdb"); err != nil {
		pg.stop(ctx)
		return nil, err
	}
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/ferretdb", port)
	return pg, nil
}

func (pg *postgres) exec(ctx context.Context, bin string, args ...string) error {
	argv := append(append(append([]string{}, pg.asUser...), bin), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = pg.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

func (pg *postgres) stop(ctx context.Context) {
	pgctl, err := pgBinary("pg_ctl")
	if err == nil {
		_ = pg.exec(context.WithoutCancel(ctx), pgctl, "-D", filepath.Join(pg.dir, "data"), "-m", "fast", "-w", "stop")
	}
	pg.remove()
}

func (pg *postgres) remove() { _ = os.RemoveAll(pg.dir) }

// pgBinary finds a PostgreSQL server tool: Debian keeps them out of PATH,
// in /usr/lib/postgresql/VERSION/bin.
func pgBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return "", fmt.Errorf("%s not found: apt-get install postgresql", name)
	}
	return matches[len(matches)-1], nil
}
