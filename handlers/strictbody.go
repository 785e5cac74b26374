package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/osms/sports-service/models"
)

// bodyTooLarge is the one text of a 413, whether the body declared its
// length or came chunked.
func bodyTooLarge(limit int64) string {
	return fmt.Sprintf("the request body exceeds the limit of %d bytes", limit)
}

// strictBody is an API middleware that reads a JSON body before the
// framework does and refuses what the framework's decoder lets through
// silently: a key given twice in one object (the last one won), and null for
// an optional field that is not nullable (null was read as "absent"). It also
// normalises two things JSON Schema calls valid but encoding/json refuses:
// an integer written with a fraction or exponent (236687.0), and, for fields
// of format date, a date-time at midnight UTC, which the service reads as its
// date.
func strictBody(api huma.API, limit int64) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		ct := ctx.Header("Content-Type")
		if op == nil || op.RequestBody == nil || (ct != "" && !strings.Contains(ct, "json")) {
			next(ctx)
			return
		}
		c := humagin.Unwrap(ctx)
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			_ = huma.WriteErr(api, ctx, http.StatusRequestTimeout, "the request body was not sent in time")
			return
		case err != nil:
			_ = huma.WriteErr(api, ctx, http.StatusBadRequest, "could not read the request body")
			return
		case int64(len(body)) > limit:
			ctx.SetHeader("Connection", "close")
			_ = huma.WriteErr(api, ctx, http.StatusRequestEntityTooLarge, bodyTooLarge(limit))
			return
		}
		props, required := bodyProperties(api, op)
		if tree, problems, ok := scanJSON(body); ok {
			problems = append(problems, nullProblems(tree, props, required)...)
			if len(problems) > 0 {
				_ = huma.WriteErr(api, ctx, http.StatusUnprocessableEntity, "validation failed", problems...)
				return
			}
			if normalize(&tree, props) {
				if b, err := marshalNoEscape(tree); err == nil {
					body = b
				}
			}
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Request.ContentLength = int64(len(body))
		next(ctx)
	}
}

// bodyProperties returns the top-level properties of the operation's JSON
// body schema and which of them are required.
func bodyProperties(api huma.API, op *huma.Operation) (map[string]*huma.Schema, map[string]bool) {
	mt := op.RequestBody.Content["application/json"]
	if mt == nil || mt.Schema == nil {
		return nil, nil
	}
	s := mt.Schema
	if s.Ref != "" {
		s = api.OpenAPI().Components.Schemas.SchemaFromRef(s.Ref)
	}
	if s == nil {
		return nil, nil
	}
	required := make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		required[r] = true
	}
	return s.Properties, required
}

// scanJSON decodes body into a tree of map[string]any, []any, json.Number,
// string, bool and nil, and reports every key repeated within one object. ok
// is false when body is not JSON; the framework reports that.
func scanJSON(body []byte) (tree any, problems []error, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tree, err := scanValue(dec, []string{"body"}, &problems)
	if err != nil {
		return nil, nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, false
	}
	return tree, problems, true
}

// maxDepth is encoding/json's own nesting limit; deeper is not JSON the
// framework would read either.
const maxDepth = 10000

var errTooDeep = errors.New("nested too deeply")

// scanValue reads one value; path holds the segments leading to it, joined
// only when a problem is reported (joining at every level made a deeply
// nested body cost the square of its depth).
func scanValue(dec *json.Decoder, path []string, problems *[]error) (any, error) {
	if len(path) > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			v, err := scanValue(dec, append(path, "."+key), problems)
			if err != nil {
				return nil, err
			}
			if _, dup := obj[key]; dup {
				*problems = append(*problems, &huma.ErrorDetail{Location: strings.Join(path, "") + "." + key,
					Message: "duplicated key: each key may appear once in an object"})
			}
			obj[key] = v
		}
		_, err := dec.Token() // '}'
		return obj, err
	case json.Delim('['):
		var list []any
		for i := 0; dec.More(); i++ {
			v, err := scanValue(dec, append(path, "["+strconv.Itoa(i)+"]"), problems)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token() // ']'
		if list == nil {
			list = []any{}
		}
		return list, err
	default:
		return tok, nil
	}
}

// nullProblems reports top-level nulls given for optional fields whose
// schema does not allow null. (A required field's null is the schema's.)
func nullProblems(tree any, props map[string]*huma.Schema, required map[string]bool) []error {
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil
	}
	var problems []error
	// Over the schema's few properties, in order, not over the body's keys,
	// which a hostile body makes many.
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		s := props[k]
		v, present := obj[k]
		if !present || v != nil || s.Nullable || required[k] {
			continue
		}
		problems = append(problems, &huma.ErrorDetail{Location: "body." + k,
			Message: "expected a value, not null: the field is not nullable; leave it out to keep the stored value"})
	}
	return problems
}

// normalize rewrites integer-valued numbers as integers everywhere, and
// midnight date-times as dates in top-level fields of format date. It reports
// whether anything changed.
func normalize(v *any, props map[string]*huma.Schema) bool {
	changed := false
	switch x := (*v).(type) {
	case json.Number:
		if n, ok := integral(x); ok {
			*v, changed = n, true
		}
	case []any:
		for i := range x {
			changed = normalize(&x[i], nil) || changed
		}
	case map[string]any:
		for k, item := range x {
			if s, isStr := item.(string); isStr && props[k] != nil && props[k].Format == "date" {
				if d, ok := models.MidnightDate(s); ok {
					x[k], changed = d, true
				}
				continue
			}
			changed = normalize(&item, nil) || changed
			x[k] = item
		}
	}
	return changed
}

// integral returns n written as an integer when it has a fraction or an
// exponent but an integer value that float64 holds exactly.
func integral(n json.Number) (json.Number, bool) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		return n, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > float64(models.MaxID) {
		return n, false
	}
	return json.Number(strconv.FormatInt(int64(f), 10)), true
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// floatInMessage is a number the framework formatted with %v: a bound of
// 2^53-1 reads 9.007199254740991e+15.
var floatInMessage = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?e[+-][0-9]+`)

// tidyErrors is an API transformer: it writes integer bounds as integers and
// keeps one entry per problem — a date that breaks the schema's pattern also
// fails its format, and the pattern's message is the one that says what to
// send.
func tidyErrors(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	byLocation := map[string]int{}
	for _, d := range em.Errors {
		if d != nil {
			byLocation[d.Location]++
		}
	}
	kept := em.Errors[:0]
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		if d.Message == validation.MsgExpectedRFC3339Date && byLocation[d.Location] > 1 {
			continue
		}
		d.Message = floatInMessage.ReplaceAllStringFunc(d.Message, func(s string) string {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63 {
				return s
			}
			return strconv.FormatFloat(f, 'f', -1, 64)
		})
		kept = append(kept, d)
	}
	em.Errors = kept
	return v, nil
}
