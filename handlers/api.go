package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/osms/sports-service/internal/httpstatus"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// errorMapper turns the store's errors into problem responses. An error it
// does not know is logged with its detail and answered with a bare 500, so
// nothing internal leaks to the client.
type errorMapper struct {
	logger *slog.Logger
}

func (m errorMapper) problem(ctx context.Context, err error) error {
	var (
		ve *models.ValidationError
		nf *repository.NotFoundError
		ce *repository.ConflictError
		iu *repository.InUseError
		pf *repository.PreconditionFailedError
		tm *repository.TooManyError
	)
	switch {
	case errors.As(err, &ve):
		details := make([]error, len(ve.Fields))
		for i, f := range ve.Fields {
			details[i] = &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message}
		}
		return huma.Error422UnprocessableEntity("validation failed", details...)
	case errors.As(err, &nf):
		return huma.Error404NotFound(nf.Error())
	case errors.As(err, &ce):
		detail := &huma.ErrorDetail{Location: "body." + ce.Field, Message: "already taken", Value: ce.Value}
		return huma.Error409Conflict(ce.Error(), detail)
	case errors.As(err, &iu):
		details := make([]error, len(iu.Referrers))
		for i, r := range iu.Referrers {
			details[i] = &huma.ErrorDetail{Location: "referrer", Message: r}
		}
		return huma.Error409Conflict(iu.Error(), details...)
	case errors.As(err, &pf):
		return preconditionFailed(pf)
	case errors.As(err, &tm):
		// Refused before any work: the alternative is a 503 after seconds.
		return huma.Error422UnprocessableEntity(tm.Error(), &huma.ErrorDetail{
			Location: "query.limit", Message: fmt.Sprintf("required when there are more than %d records", tm.Max)})
	case errors.Is(err, repository.ErrLastAdmin):
		return huma.Error409Conflict("the last admin cannot be demoted or deleted; make another login admin first")
	case errors.Is(err, repository.ErrBadCredentials):
		return huma.Error401Unauthorized("wrong username or password")
	case errors.Is(err, repository.ErrUnavailable) && httpstatus.ClientGone(ctx):
		// The client is gone and reads nothing: the status is for the
		// access log and the metrics, and no fault of the database's.
		return huma.NewError(httpstatus.ClientClosedRequest, "client closed the request")
	case errors.Is(err, repository.ErrBusy):
		// Other requests, in this instance or another, held the record
		// for longer than a write waits: a retry soon will pass.
		m.logger.WarnContext(ctx, "write contention", "error", err)
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable(busyDetail(err)),
			http.Header{"Retry-After": {"1"}})
	case errors.Is(err, repository.ErrUnavailable):
		m.logger.WarnContext(ctx, "database unavailable", "error", err)
		return huma.Error503ServiceUnavailable("the database did not answer in time; retry later")
	default:
		m.logger.ErrorContext(ctx, "internal error", "error", err)
		return huma.Error500InternalServerError("internal error; the request id identifies it in the logs")
	}
}

// busyDetail is the 503 detail of a write that waited too long for others.
func busyDetail(err error) string {
	var be *repository.BusyError
	if errors.As(err, &be) {
		return be.Error()
	}
	return "other requests are writing the same records; retry shortly"
}

// Inputs and outputs of the operations.

type idInput struct {
	ID int64 `path:"id" minimum:"1" maximum:"9007199254740991" doc:"record id"`
}

type bodyInput[T any] struct {
	Body T
}

type idBodyInput[T any] struct {
	ID   int64 `path:"id" minimum:"1" maximum:"9007199254740991" doc:"record id"`
	Body T
}

type listInput struct {
	Limit int   `query:"limit" minimum:"1" maximum:"1000" doc:"page size; without it every record is returned"`
	After int64 `query:"after" minimum:"0" maximum:"9007199254740991" doc:"return only ids greater than this (the last id of the previous page)"`
}

type bodyOutput[T any] struct {
	Body T
}

// Deleted is the answer to a delete.
type Deleted struct {
	Message string `json:"message"`
	ID      int64  `json:"id"`
}

// resource describes the operations of one kind of record: In is what add
// takes, M the record, P its partial update (unused when update is nil).
type resource[In, M, P any] struct {
	name   string // "player"
	plural string // "players", the OpenAPI tag
	add    func(context.Context, In) (M, error)
	get    func(context.Context, int64) (M, error)
	list   func(context.Context, repository.ListQuery, func(M) error) error
	update func(context.Context, int64, P) (M, error)
	delete func(context.Context, int64) error
}

// Errors every /ch11 operation may answer besides its own.
var commonErrors = []int{http.StatusUnauthorized, http.StatusServiceUnavailable}

func registerResource[In, M, P any](api huma.API, em errorMapper, r resource[In, M, P]) {
	base := "/ch11/" + r.name
	tags := []string{r.plural}

	huma.Register(api, huma.Operation{
		OperationID: "add-" + r.name, Method: http.MethodPost, Path: base + "/add",
		Summary: "Add " + withArticle(r.name), Tags: tags, DefaultStatus: http.StatusCreated,
		Errors: append([]int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *bodyInput[In]) (*bodyOutput[M], error) {
		m, err := r.add(ctx, in.Body)
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		return &bodyOutput[M]{Body: m}, nil
	})

	registerList(api, em, huma.Operation{
		OperationID: "list-" + r.plural, Method: http.MethodGet, Path: base + "/list/all",
		Summary: "List " + r.plural + " in id order",
		Description: "Streams every " + r.name + " ordered by id. With `limit`, returns one keyset page: " +
			"pass the last id you received as `after` to get the next one. On the embedded database a list " +
			"without `limit` over more than " + strconv.Itoa(repository.MaxEmbeddedListAll) + " records is refused (422): use pages.",
		Tags: tags, Errors: append([]int{http.StatusUnprocessableEntity}, commonErrors...),
	}, r.list)

	huma.Register(api, huma.Operation{
		OperationID: "get-" + r.name, Method: http.MethodGet, Path: base + "/get/{id}",
		Summary: "Get " + withArticle(r.name) + " by id", Tags: tags,
		Errors: append([]int{http.StatusNotFound, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *idInput) (*bodyOutput[M], error) {
		m, err := r.get(ctx, in.ID)
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		return &bodyOutput[M]{Body: m}, nil
	})

	if r.update != nil {
		huma.Register(api, huma.Operation{
			OperationID: "update-" + r.name, Method: http.MethodPatch, Path: base + "/update/{id}",
			Summary: "Update some fields of " + withArticle(r.name), Tags: tags,
			Description: "Only the fields present in the body change; the merged record must pass every rule.",
			Errors:      append([]int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}, commonErrors...),
		}, func(ctx context.Context, in *idBodyInput[P]) (*bodyOutput[M], error) {
			m, err := r.update(ctx, in.ID, in.Body)
			if err != nil {
				return nil, em.problem(ctx, err)
			}
			return &bodyOutput[M]{Body: m}, nil
		})
	}

	huma.Register(api, huma.Operation{
		OperationID: "delete-" + r.name, Method: http.MethodDelete, Path: base + "/delete/{id}",
		Summary: "Delete " + withArticle(r.name), Tags: tags,
		Description: "Refused with 409 while other records refer to it; the answer names them.",
		Errors:      append([]int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *idInput) (*bodyOutput[Deleted], error) {
		if err := r.delete(ctx, in.ID); err != nil {
			return nil, em.problem(ctx, err)
		}
		return &bodyOutput[Deleted]{Body: Deleted{Message: r.name + " " + strconv.FormatInt(in.ID, 10) + " deleted", ID: in.ID}}, nil
	})
}

// registerList adds a list operation that streams a JSON array straight from
// the database cursor, so memory does not grow with the collection.
func registerList[M any](api huma.API, em errorMapper, op huma.Operation,
	list func(context.Context, repository.ListQuery, func(M) error) error) {
	// The framework cannot infer a schema for a streamed body: declare it.
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf([]M{}), true, "")
	op.Responses = map[string]*huma.Response{
		"200": {Description: "OK", Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}},
	}
	huma.Register(api, op, func(ctx context.Context, in *listInput) (*huma.StreamResponse, error) {
		q := repository.ListQuery{After: in.After, Limit: in.Limit}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			w := hctx.BodyWriter()
			enc := json.NewEncoder(w)
			started := false
			err := list(ctx, q, func(m M) error {
				sep := []byte(",")
				if !started {
					hctx.SetHeader("Content-Type", "application/json")
					hctx.SetStatus(http.StatusOK)
					sep = []byte("[")
					started = true
				}
				if _, err := w.Write(sep); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				return enc.Encode(m)
			})
			switch {
			case err != nil && !started:
				writeStatusError(hctx, em.problem(ctx, err))
			case err != nil:
				// Too late for a status code: cut the connection so the
				// client sees a broken response, not a short list.
				em.logger.WarnContext(ctx, "list aborted mid-stream", "error", err)
				panic(http.ErrAbortHandler)
			case !started:
				hctx.SetHeader("Content-Type", "application/json")
				hctx.SetStatus(http.StatusOK)
				_, _ = w.Write([]byte("[]"))
			default:
				_, _ = w.Write([]byte("]"))
			}
		}}, nil
	})
}

func writeStatusError(hctx huma.Context, err error) {
	var se huma.StatusError
	if !errors.As(err, &se) {
		se = huma.Error500InternalServerError("internal error; the request id identifies it in the logs")
	}
	var he huma.HeadersError
	if errors.As(err, &he) {
		for k, values := range he.GetHeaders() {
			for _, v := range values {
				hctx.AppendHeader(k, v)
			}
		}
	}
	hctx.SetHeader("Content-Type", problemContentType)
	hctx.SetStatus(se.GetStatus())
	_ = json.NewEncoder(hctx.BodyWriter()).Encode(se)
}
