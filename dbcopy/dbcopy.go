// Package dbcopy copies whole collections from one database that speaks the
// MongoDB wire protocol to another (MongoDB, or FerretDB such as the
// service's embedded database), document by document as raw BSON: every
// byte of every document, its _id included, arrives as it was read, in
// batches, so that the copy of a large collection needs the memory of one
// batch. It is the engine of `sports-service migrate` (docs/deployment.md)
// and knows nothing of the service's records or of HTTP.
//
// It is written on the driver's own cursor and InsertMany: mongodump and
// mongorestore (mongo-tools) are commands, not a library to call, and need
// a second program on the user's machine.
package dbcopy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ErrTargetNotEmpty is Copy's answer when a target collection holds
// documents and Options.Overwrite is false; nothing was written then.
var ErrTargetNotEmpty = errors.New("target collection is not empty")

// Options say what to copy and how.
type Options struct {
	// Collections are copied in this order.
	Collections []string
	// Overwrite drops every target collection of Collections and of
	// Discard (documents and indexes) before copying. Without it Copy
	// refuses, before writing anything, when one of Collections holds a
	// document on the target.
	Overwrite bool
	// Discard are collections that are not copied; with Overwrite they are
	// dropped on the target too (what they held referred to the replaced
	// documents).
	Discard []string
	// BatchDocuments and BatchBytes bound one batch, what is read from
	// the source before it is written to the target: it ends at
	// BatchDocuments documents (default 1,000) or with the document that
	// brings it to BatchBytes (default 8 MiB).
	BatchDocuments int
	BatchBytes     int
	// CallTimeout bounds each database call: one batch read or written, a
	// check, a drop (default 1 minute).
	CallTimeout time.Duration
	// Copied, when set, is told each collection's count as soon as it
	// is copied.
	Copied func(Count)
	// Progress, when set, is told the count so far after each batch.
	Progress func(Count)
}

// Count is the number of documents copied into one collection.
type Count struct {
	Collection string
	Documents  int64
}

// Copy copies opts.Collections from src to dst and returns the count of
// each. Its errors name the collection and the side (source or target).
func Copy(ctx context.Context, src, dst *mongo.Database, opts Options) ([]Count, error) {
	opts = opts.withDefaults()
	if err := prepareTarget(ctx, dst, opts); err != nil {
		return nil, err
	}
	counts := make([]Count, 0, len(opts.Collections))
	for _, name := range opts.Collections {
		n, err := copyCollection(ctx, src.Collection(name), dst.Collection(name), opts)
		if err != nil {
			return counts, fmt.Errorf("collection %s: %w", name, err)
		}
		c := Count{Collection: name, Documents: n}
		counts = append(counts, c)
		if opts.Copied != nil {
			opts.Copied(c)
		}
	}
	return counts, nil
}

func (o Options) withDefaults() Options {
	if o.BatchDocuments <= 0 {
		o.BatchDocuments = 1000
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 8 << 20
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = time.Minute
	}
	return o
}

// prepareTarget refuses a target that holds documents (unless Overwrite),
// before anything is written, or drops the collections (with Overwrite).
func prepareTarget(ctx context.Context, dst *mongo.Database, opts Options) error {
	if opts.Overwrite {
		for _, name := range append(append([]string{}, opts.Collections...), opts.Discard...) {
			cctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
			err := dst.Collection(name).Drop(cctx)
			cancel()
			if err != nil {
				return fmt.Errorf("collection %s: drop on the target: %w", name, err)
			}
		}
		return nil
	}
	for _, name := range opts.Collections {
		cctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
		n, err := dst.Collection(name).CountDocuments(cctx, bson.D{}, options.Count().SetLimit(1))
		cancel()
		if err != nil {
			return fmt.Errorf("collection %s: check the target: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("collection %s: %w", name, ErrTargetNotEmpty)
		}
	}
	return nil
}

// copyCollection streams src into dst in batches and checks the target's
// count at the end.
func copyCollection(ctx context.Context, src, dst *mongo.Collection, opts Options) (int64, error) {
	fctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
	cur, err := src.Find(fctx, bson.D{}, options.Find().SetBatchSize(int32(opts.BatchDocuments)))
	cancel()
	if err != nil {
		return 0, fmt.Errorf("read the source: %w", err)
	}
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	var copied int64
	for {
		batch, err := nextBatch(ctx, cur, opts)
		if err != nil {
			return copied, fmt.Errorf("read the source after %d documents: %w", copied, err)
		}
		if len(batch) == 0 {
			break
		}
		ictx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
		_, err = dst.InsertMany(ictx, batch, options.InsertMany().SetOrdered(true))
		cancel()
		if err != nil {
			return copied, fmt.Errorf("write the target after %d documents: %w", copied, err)
		}
		copied += int64(len(batch))
		if opts.Progress != nil {
			opts.Progress(Count{Collection: dst.Name(), Documents: copied})
		}
	}
	// The count command (not CountDocuments, an aggregation that FerretDB
	// v1 runs by loading the collection: 20 s and 200 MiB for 100,000
	// players).
	cctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
	n, err := dst.EstimatedDocumentCount(cctx)
	cancel()
	if err != nil {
		return copied, fmt.Errorf("count the target: %w", err)
	}
	if n != copied {
		return copied, fmt.Errorf("the target holds %d documents after %d were copied", n, copied)
	}
	return copied, nil
}

// nextBatch reads up to a batch's worth of documents; none at the end.
// The cursor reuses its buffer, so each document is copied out of it.
func nextBatch(ctx context.Context, cur *mongo.Cursor, opts Options) ([]bson.Raw, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
	defer cancel()
	var batch []bson.Raw
	size := 0
	for len(batch) < opts.BatchDocuments && size < opts.BatchBytes && cur.Next(ctx) {
		doc := make(bson.Raw, len(cur.Current))
		copy(doc, cur.Current)
		batch = append(batch, doc)
		size += len(doc)
	}
	return batch, cur.Err()
}
