// Command ceiling measures what the database itself can serve: N goroutines
// run the service's own get-by-id (FindOne on _id) or list-all (Find sorted
// by id) queries with plain driver calls, for a fixed time, decoding into
// the same document shape as the store. Run with the concurrency of the
// HTTP load (wrk's connections) against the database the service uses, it
// is the ceiling the service's database routes are compared with.
//
//	ceiling -uri mongodb://127.0.0.1:PORT/ -mode get -c 32 -d 10s -ids 100
//
// It prints one JSON object: requests, seconds, rps and latency percentiles
// in microseconds.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/internal/benchdata"
)

// Result is what one run prints.
type Result struct {
	Mode     string  `json:"mode"`
	Conns    int     `json:"conns"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50us    int64   `json:"p50_us"`
	P90us    int64   `json:"p90_us"`
	P99us    int64   `json:"p99_us"`
	P999us   int64   `json:"p999_us"`
}

func main() {
	uri := flag.String("uri", "", "MongoDB connection string")
	dbName := flag.String("db", "osms", "database")
	mode := flag.String("mode", "get", "get (FindOne by _id) or list (Find all, sorted by player_id)")
	conns := flag.Int("c", 32, "concurrent goroutines")
	dur := flag.Duration("d", 10*time.Second, "duration")
	ids := flag.Int("ids", 100, "get picks ids uniformly in 1..ids")
	want := flag.Int("want", 0, "list: expected number of documents (0: any)")
	count := flag.Int64("n", 0, "stop after this many queries in all (0: run for -d)")
	flag.Parse()
	res, err := run(*uri, *dbName, *mode, *conns, *dur, *ids, *want, *count)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func run(uri, dbName, mode string, conns int, dur time.Duration, ids, want int, count int64) (Result, error) {
	if uri == "" || conns < 1 || ids < 1 {
		return Result{}, fmt.Errorf("need -uri, -c >= 1 and -ids >= 1")
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetMaxPoolSize(uint64(max(conns, 100))))
	if err != nil {
		return Result{}, err
	}
	defer client.Disconnect(context.Background())
	coll := client.Database(dbName).Collection("player")
	ctx := context.Background()

	var query func(r *rand.Rand) error
	switch mode {
	case "get":
		query = func(r *rand.Rand) error {
			var p benchdata.Player
			return coll.FindOne(ctx, bson.D{{Key: "_id", Value: strconv.Itoa(r.IntN(ids) + 1)}}).Decode(&p)
		}
	case "list":
		// The same options as the store's list: sorted by id, batches of 100.
		opts := options.Find().SetSort(bson.D{{Key: "player_id", Value: 1}}).SetBatchSize(100)
		query = func(*rand.Rand) error {
			cur, err := coll.Find(ctx, bson.D{}, opts)
			if err != nil {
				return err
			}
			defer cur.Close(ctx)
			n := 0
			for cur.Next(ctx) {
				var p benchdata.Player
				if err := cur.Decode(&p); err != nil {
					return err
				}
				n++
			}
			if err := cur.Err(); err != nil {
				return err
			}
			if want > 0 && n != want {
				return fmt.Errorf("list returned %d documents, want %d", n, want)
			}
			return nil
		}
	default:
		return Result{}, fmt.Errorf("-mode %q: want get or list", mode)
	}
	// One query before the clock starts: fails fast on a wrong URI or data,
	// and opens the first connection.
	if err := query(rand.New(rand.NewPCG(0, 0))); err != nil {
		return Result{}, fmt.Errorf("first %s: %w", mode, err)
	}

	var (
		mu       sync.Mutex
		total    = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		requests int64
		errs     int64
		firstErr error
		wg       sync.WaitGroup
		issued   atomic.Int64
	)
	start := time.Now()
	deadline := start.Add(dur)
	for g := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
			r := rand.New(rand.NewPCG(uint64(g), 1))
			var n, e int64
			var ferr error
			for {
				t0 := time.Now()
				if !t0.Before(deadline) || count > 0 && issued.Add(1) > count {
					break
				}
				if err := query(r); err != nil {
					e++
					if ferr == nil {
						ferr = err
					}
				}
				_ = h.RecordValue(time.Since(t0).Microseconds())
				n++
			}
			mu.Lock()
			total.Merge(h)
			requests += n
			errs += e
			if firstErr == nil {
				firstErr = ferr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "ceiling: %d errors, first: %v\n", errs, firstErr)
	}
	return Result{
		Mode: mode, Conns: conns, Requests: requests, Errors: errs, Seconds: secs,
		RPS:   float64(requests) / secs,
		P50us: total.ValueAtQuantile(50), P90us: total.ValueAtQuantile(90),
		P99us: total.ValueAtQuantile(99), P999us: total.ValueAtQuantile(99.9),
	}, nil
}
