package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/repository"
)

// recordPath matches the operations on one record and on adding one, whose
// answers carry an ETag: /ch11/{kind}/{op}[/{id}].
var recordPath = regexp.MustCompile(`^/ch11/(login|official|player|game)/(add|get|update|delete)(/|$)`)

// recordKinds are recordPath's kinds, each with the slash after it.
var recordKinds = [...]string{"login/", "official/", "player/", "game/"}

// recordOperation is recordPath.FindStringSubmatch(path), without running
// the expression on the paths that cannot match: every request passes here,
// and the regular expression was 3.5 % of the trivial route's in-process
// CPU (issue #27).
func recordOperation(path string) []string {
	rest, ok := strings.CutPrefix(path, "/ch11/")
	if !ok || !slices.ContainsFunc(recordKinds[:], func(kind string) bool { return strings.HasPrefix(rest, kind) }) {
		return nil
	}
	return recordPath.FindStringSubmatch(path)
}

// entityTag is one entity-tag of RFC 9110 §8.8.3: an optional W/ and a
// quoted string of etagc characters (no quote, no control, no space).
type entityTag struct {
	Weak   bool
	Opaque string
}

var errBadTagList = errors.New(`want "*" or a comma-separated list of entity tags such as "1733050000000000000"`)

// parseTagList parses an If-Match or If-None-Match value: "*" (any is true)
// or a list of entity tags. Empty list elements are allowed, as RFC 9110's
// #rule says.
func parseTagList(v string) (tags []entityTag, any bool, err error) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return nil, true, nil
	}
	for v != "" {
		v = strings.TrimLeft(v, " \t")
		if strings.HasPrefix(v, ",") {
			v = v[1:]
			continue
		}
		var t entityTag
		if strings.HasPrefix(v, "W/") {
			t.Weak, v = true, v[2:]
		}
		if !strings.HasPrefix(v, `"`) {
			return nil, false, errBadTagList
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return nil, false, errBadTagList
		}
		t.Opaque = v[1 : 1+end]
		for i := 0; i < len(t.Opaque); i++ {
			if c := t.Opaque[i]; c < 0x21 || c == 0x7f {
				return nil, false, errBadTagList
			}
		}
		tags = append(tags, t)
		v = strings.TrimLeft(v[2+end:], " \t")
		if v != "" && !strings.HasPrefix(v, ",") {
			return nil, false, errBadTagList
		}
	}
	if len(tags) == 0 {
		return nil, false, errBadTagList
	}
	return tags, false, nil
}

// etagOf is the strong ETag of a record version.
func etagOf(v int64) string { return `"` + repository.FormatVersion(v) + `"` }

// strongVersions are the versions named by the strong tags of a list; a weak
// tag or one that is not a version of ours matches nothing (If-Match uses the
// strong comparison).
func strongVersions(tags []entityTag) []int64 {
	var vs []int64
	for _, t := range tags {
		if v, err := strconv.ParseInt(t.Opaque, 10, 64); err == nil && !t.Weak {
			vs = append(vs, v)
		}
	}
	return vs
}

// conditionalRequests implements RFC 9110 conditional requests on the
// record operations:
//   - the answers of get, add and update carry the record's strong ETag (its
//     version, which the store reports through the request context);
//   - get with If-None-Match naming that version answers 304;
//   - update and delete with If-Match pass the versions to the store, which
//     writes only if the record is still at one of them (else 412, from the
//     error mapper); without If-Match they write as before, or, when
//     requireIfMatch, answer 428.
func conditionalRequests(requireIfMatch bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		m := recordOperation(c.Request.URL.Path)
		if m == nil {
			c.Next()
			return
		}
		op := m[2]
		ctx := c.Request.Context()
		switch {
		case op == "update" && c.Request.Method == http.MethodPatch, op == "delete" && c.Request.Method == http.MethodDelete:
			values := c.Request.Header.Values("If-Match")
			if len(values) == 0 {
				if requireIfMatch {
					writeProblem(c, http.StatusPreconditionRequired,
						"this service requires If-Match on updates and deletes: GET the record and send its ETag",
						&huma.ErrorDetail{Location: "header.If-Match", Message: "required"})
					return
				}
				break
			}
			tags, anyTag, err := parseTagList(strings.Join(values, ","))
			if err != nil {
				writeProblem(c, http.StatusBadRequest, "malformed If-Match header",
					&huma.ErrorDetail{Location: "header.If-Match", Message: err.Error()})
				return
			}
			if !anyTag { // "*": any current record, which the write needs anyway
				ctx = repository.WithIfMatch(ctx, strongVersions(tags)...)
			}
		}
		var inm []entityTag
		inmAny := false
		if op == "get" && c.Request.Method == http.MethodGet {
			if values := c.Request.Header.Values("If-None-Match"); len(values) > 0 {
				tags, anyTag, err := parseTagList(strings.Join(values, ","))
				if err != nil {
					writeProblem(c, http.StatusBadRequest, "malformed If-None-Match header",
						&huma.ErrorDetail{Location: "header.If-None-Match", Message: err.Error()})
					return
				}
				inm, inmAny = tags, anyTag
			}
		}
		ctx, sink := repository.WithVersionSink(ctx)
		c.Request = c.Request.WithContext(ctx)
		c.Writer = &etagWriter{ResponseWriter: c.Writer, sink: sink, inm: inm, inmAny: inmAny}
		c.Next()
	}
}

// etagWriter adds the ETag to a successful answer when its status is set,
// and turns a get whose version the client already has into 304.
type etagWriter struct {
	gin.ResponseWriter
	sink        *repository.Version
	inm         []entityTag
	inmAny      bool
	notModified bool
}

func (w *etagWriter) WriteHeader(code int) {
	if code >= 200 && code < 300 && w.sink.Set {
		tag := etagOf(w.sink.Value)
		w.Header().Set("ETag", tag)
		if w.inmAny || matchesWeakly(w.inm, repository.FormatVersion(w.sink.Value)) {
			// RFC 9110 §15.4.5: 304 carries the ETag, no body.
			w.notModified = true
			w.Header().Del("Content-Type")
			w.Header().Del("Content-Length")
			code = http.StatusNotModified
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *etagWriter) Write(b []byte) (int, error) {
	if w.notModified {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *etagWriter) WriteString(s string) (int, error) {
	if w.notModified {
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}

// matchesWeakly is If-None-Match's weak comparison.
func matchesWeakly(tags []entityTag, opaque string) bool {
	for _, t := range tags {
		if t.Opaque == opaque {
			return true
		}
	}
	return false
}

// preconditionFailed is the problem document of a stale If-Match.
func preconditionFailed(pf *repository.PreconditionFailedError) huma.StatusError {
	if pf.Gone {
		return huma.Error412PreconditionFailed(pf.Error()+": it was deleted",
			&huma.ErrorDetail{Location: "header.If-Match", Message: "no current version"})
	}
	return huma.Error412PreconditionFailed(
		fmt.Sprintf("%s %d changed since you read it: its current version is %s; GET it again, reapply your change and send the new ETag",
			pf.Kind, pf.ID, etagOf(pf.Current)),
		&huma.ErrorDetail{Location: "header.If-Match", Message: "current version", Value: etagOf(pf.Current)})
}
