package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/internal/httpstatus"
	"github.com/osms/sports-service/repository"
)

// IdempotencyStore keeps the answers to requests sent with an
// Idempotency-Key (repository.Store does, in the database, so that every
// instance sees them).
type IdempotencyStore interface {
	BeginIdempotent(ctx context.Context, key, fingerprint string, expires time.Time, abandonAfter time.Duration) (repository.IdempotentAnswer, error)
	FinishIdempotent(context.Context, repository.IdempotentAnswer) error
	ForgetIdempotent(ctx context.Context, begun repository.IdempotentAnswer) error
}

// Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header).
const (
	idempotencyKeyHeader = "Idempotency-Key"
	replayedHeader       = "Idempotent-Replayed"
	maxIdempotencyKey    = 255
)

// idempotentPath matches the operations that honour Idempotency-Key.
var idempotentPath = regexp.MustCompile(`^/ch11/(login|official|player|game)/add$`)

// replayedHeaders are the headers of an answer stored for replay.
var replayedHeaders = []string{"Content-Type", "ETag", "Location"}

var errBadIdempotencyKey = fmt.Errorf("must be 1 to %d printable ASCII characters", maxIdempotencyKey)

// parseIdempotencyKey checks an Idempotency-Key value.
func parseIdempotencyKey(v string) (string, error) {
	if len(v) == 0 || len(v) > maxIdempotencyKey {
		return "", errBadIdempotencyKey
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", errBadIdempotencyKey
		}
	}
	return v, nil
}

// idempotentCreates makes POST .../add safe to retry. The first request with
// a key runs and its answer is stored with a fingerprint of the request; a
// retry with the same key and body gets that answer again, marked
// Idempotent-Replayed: true; with another body 422; while the first still
// runs 409. Keys are scoped by path and by the credentials sent, and expire
// after ttl.
//
// A key still "running" after abandonAfter (longer than any request may run)
// belongs to an instance that died mid-request: the next request takes it.
func idempotentCreates(store IdempotencyStore, ttl, abandonAfter time.Duration, bodyLimit int64, logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		values := c.Request.Header.Values(idempotencyKeyHeader)
		if len(values) == 0 || c.Request.Method != http.MethodPost || !idempotentPath.MatchString(c.Request.URL.Path) {
			c.Next()
			return
		}
		if len(values) > 1 {
			writeProblem(c, http.StatusBadRequest, "more than one Idempotency-Key header",
				&huma.ErrorDetail{Location: "header." + idempotencyKeyHeader, Message: "must appear once"})
			return
		}
		key, err := parseIdempotencyKey(values[0])
		if err != nil {
			writeProblem(c, http.StatusBadRequest, "malformed Idempotency-Key header",
				&huma.ErrorDetail{Location: "header." + idempotencyKeyHeader, Message: err.Error()})
			return
		}
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, bodyLimit+1))
		if err != nil {
			writeProblem(c, http.StatusBadRequest, "could not read the request body")
			return
		}
		if int64(len(body)) > bodyLimit {
			c.Header("Connection", "close")
			writeProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", bodyLimit))
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))

		// The credentials are part of the key's scope: one client cannot
		// read another's answer by guessing its key.
		scope := sha256.Sum256([]byte(c.Request.Header.Get("Authorization")))
		storeKey := c.Request.URL.Path + " " + hex.EncodeToString(scope[:8]) + " " + key
		fp := sha256.New()
		fmt.Fprintf(fp, "%s\n%s\n%s\n", c.Request.Method, c.Request.URL.Path, c.Request.Header.Get("Content-Type"))
		fp.Write(body)
		fingerprint := hex.EncodeToString(fp.Sum(nil))

		// From here the request runs to the end even when its client hangs
		// up: the client will retry, and must find the answer, not a record
		// created by a request whose answer was lost, nor a key left
		// "running" because the driver gave up on the insert that
		// recorded it after the database had done it.
		ctx := c.Request.Context()
		detached := context.WithoutCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			detached, cancel = context.WithDeadline(detached, dl)
			defer cancel()
		}
		ctx = detached
		c.Request = c.Request.WithContext(detached)
		held, err := store.BeginIdempotent(ctx, storeKey, fingerprint, time.Now().Add(ttl), abandonAfter)
		switch {
		case errors.Is(err, repository.ErrIdempotencyKeyTaken) && held.Fingerprint != fingerprint:
			writeProblem(c, http.StatusUnprocessableEntity,
				"this Idempotency-Key was used with a different request; use a new key for a new request",
				&huma.ErrorDetail{Location: "header." + idempotencyKeyHeader, Message: "already used with another body"})
			return
		case errors.Is(err, repository.ErrIdempotencyKeyTaken) && !held.Done:
			c.Header("Retry-After", "1")
			writeProblem(c, http.StatusConflict, "a request with this Idempotency-Key is still being processed; retry later",
				&huma.ErrorDetail{Location: "header." + idempotencyKeyHeader, Message: "in progress"})
			return
		case errors.Is(err, repository.ErrIdempotencyKeyTaken):
			for k, v := range held.Header {
				c.Header(k, v)
			}
			c.Header(replayedHeader, "true")
			c.Status(held.Status)
			_, _ = c.Writer.Write(held.Body)
			c.Abort()
			return
		case errors.Is(err, repository.ErrUnavailable):
			writeProblem(c, http.StatusServiceUnavailable, "the database did not answer in time; retry later")
			return
		case err != nil:
			logger.ErrorContext(ctx, "idempotency key", "error", err)
			writeProblem(c, http.StatusInternalServerError, "internal error; the request id identifies it in the logs")
			return
		}

		rec := &recordingWriter{ResponseWriter: c.Writer}
		c.Writer = rec
		finished := false
		defer func() {
			if finished {
				return
			}
			// A panic: forget the key so that a retry runs again.
			_ = store.ForgetIdempotent(context.WithoutCancel(ctx), held)
		}()
		c.Next()
		finished = true

		status := c.Writer.Status()
		saveCtx := context.WithoutCancel(ctx)
		if status >= 500 || status == httpstatus.ClientClosedRequest {
			// Worth retrying (the database was down): the next try runs anew.
			if err := store.ForgetIdempotent(saveCtx, held); err != nil {
				logger.WarnContext(ctx, "forget idempotency key", "error", err)
			}
			return
		}
		answer := held // this run of the key
		answer.Status, answer.Header, answer.Body = status, map[string]string{}, rec.body.Bytes()
		for _, h := range replayedHeaders {
			if v := rec.Header().Get(h); v != "" {
				answer.Header[h] = v
			}
		}
		if err := store.FinishIdempotent(saveCtx, answer); err != nil {
			logger.WarnContext(ctx, "store idempotent answer", "error", err)
		}
	}
}

// recordingWriter keeps a copy of the body it writes.
type recordingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
