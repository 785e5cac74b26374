package config

// Settings are declared as tagged struct fields and loaded by two maintained
// libraries: github.com/caarlos0/env/v11 reads and parses the variables, and
// github.com/go-playground/validator/v10 (already in the build through gin)
// checks them. This file only turns their errors into one wording, which
// names the variable and its rule, and lists the variables for documentation.
//
// caarlos0/env rather than github.com/sethvargo/go-envconfig: it has no
// dependencies, it reads from a map (so getenv, tests and .env need no
// process environment), and GetFieldParams exposes every field's variable
// and default, from which Variables, .env.example's check and
// docs/configuration.md are derived; go-envconfig has no such listing and
// puts the default inside the env tag (`env:"X, default=y"`), which reads
// worse in a table of thirty settings.
//
// The tags of a field:
//
//	env:"NAME"            the variable
//	envDefault:"value"    its default, applied when it is unset or blank
//	docDefault:"value"    the default shown in the documentation when the real
//	                      one is computed (the field stays empty when unset)
//	help:"..."            one line for .env.example and docs/configuration.md
//	validate:"..."        validator rules: gt=0s, gte=0s, lte=10m, min=1,max=100, oneof=a b, required,
//	                      omitempty, and namedRules (hostport, ip, httpurl, labelvalue, urlpath)
//	secret:"true"         the value never appears in an error

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	envlib "github.com/caarlos0/env/v11"
	"github.com/go-playground/validator/v10"
)

// ErrInvalid is wrapped by every error Load and Parse return.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one invalid variable: its name, its value as given (or
// "(hidden)" for a secret) and the rule it breaks.
type Problem struct {
	Variable, Value, Rule string
}

func (p *Problem) Error() string { return fmt.Sprintf("%s=%q %s", p.Variable, p.Value, p.Rule) }

// Unwrap makes every Problem an ErrInvalid.
func (p *Problem) Unwrap() error { return ErrInvalid }

// Problems is what Parse returns when variables are invalid: all of them, on
// one line, so that start-up can stop with exactly this message.
type Problems []*Problem

func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Error()
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap lets errors.Is find ErrInvalid and errors.As a *Problem.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// Variable documents one environment variable: the .env.example file and
// docs/configuration.md are checked against these in tests.
type Variable struct {
	Name    string
	Default string
	Help    string
}

// Parse fills a T from the variables named in its tags, read through getenv
// (blank counts as unset), and validates it. All invalid values are reported
// in one error that wraps ErrInvalid, each as NAME="value" and its rule.
func Parse[T any](getenv func(string) string) (T, error) {
	var cfg T
	fields := describe(reflect.TypeOf(cfg))
	values := map[string]string{}
	for _, f := range fields {
		if v := strings.TrimSpace(getenv(f.name)); v != "" {
			values[f.name] = v
		}
	}
	var problems Problems
	report := func(name string) {
		name, _, _ = strings.Cut(name, "[") // a list item: EUREKA_URL[1]
		for _, f := range fields {
			if f.name == name || f.field == name {
				if slices.ContainsFunc(problems, func(p *Problem) bool { return p.Variable == f.name }) {
					return
				}
				shown := values[f.name]
				if f.secret {
					shown = "(hidden)"
				}
				problems = append(problems, &Problem{f.name, shown, f.rule})
				return
			}
		}
		problems = append(problems, &Problem{name, "", "is invalid"})
	}

	// Both libraries go on after a bad value, so one start-up reports
	// every invalid variable, each once.
	if err := envlib.ParseWithOptions(&cfg, envlib.Options{Environment: values}); err != nil {
		var agg envlib.AggregateError
		if !errors.As(err, &agg) {
			return *new(T), fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, e := range agg.Errors {
			var pe envlib.ParseError
			if !errors.As(e, &pe) {
				return *new(T), fmt.Errorf("%w: %w", ErrInvalid, e)
			}
			report(pe.Name)
		}
	}
	tidyLists(reflect.ValueOf(&cfg).Elem())
	if err := newValidator().Struct(cfg); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return *new(T), fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, fe := range verrs {
			report(fe.Field())
		}
	}
	if len(problems) > 0 {
		var zero T // nothing half-loaded
		return zero, problems
	}
	return cfg, nil
}

// VariablesOf lists the variables of T's fields in declaration order.
func VariablesOf[T any]() []Variable {
	var zero T
	fields := describe(reflect.TypeOf(zero))
	out := make([]Variable, 0, len(fields))
	for _, f := range fields {
		out = append(out, Variable{Name: f.name, Default: f.def, Help: f.help})
	}
	return out
}

// namedRules are the rules validator lacks, each with the phrase that
// words it in errors. A function, not a variable: no package-level state.
func namedRules() map[string]struct {
	ok     func(string) bool
	phrase string
} {
	return map[string]struct {
		ok     func(string) bool
		phrase string
	}{
		// Unlike validator's hostname_port: an empty host and port 0 are fine.
		"hostport": {func(s string) bool {
			_, port, err := net.SplitHostPort(s)
			n, perr := strconv.Atoi(port)
			return err == nil && perr == nil && n >= 0 && n < 65536
		}, "host:port, e.g. :8000"},
		"labelvalue": {regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`).MatchString,
			"1 to 64 letters, digits, '_', '.' or '-'"},
		"ip": {func(s string) bool { return net.ParseIP(s) != nil }, "an IP address"},
		"httpurl": {func(s string) bool {
			u, err := url.Parse(s)
			return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
		}, "an absolute http or https URL"},
		"urlpath": {func(s string) bool { return strings.HasPrefix(s, "/") && !strings.ContainsAny(s, ":*? ") },
			"a plain absolute path like /metrics"},
	}
}

// newValidator names fields by their variable and knows namedRules.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return f.Tag.Get("env") })
	for name, r := range namedRules() {
		_ = v.RegisterValidation(name, func(fl validator.FieldLevel) bool { return r.ok(fl.Field().String()) })
	}
	return v
}

type field struct {
	field, name, def, help, rule string
	secret                       bool
}

// describe walks T's tagged fields (nested structs included).
func describe(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Type.Kind() == reflect.Struct && sf.Tag.Get("env") == "" && sf.Type != reflect.TypeOf(time.Time{}) {
			out = append(out, describe(sf.Type)...)
			continue
		}
		name := sf.Tag.Get("env")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, field{
			field: sf.Name, name: name, def: cmp.Or(sf.Tag.Get("envDefault"), sf.Tag.Get("docDefault")), help: sf.Tag.Get("help"),
			rule: rule(sf), secret: sf.Tag.Get("secret") == "true",
		})
	}
	return out
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	levelType    = reflect.TypeOf(slog.Level(0))
)

// rule words a field's type and validate tag as one phrase, used both when
// the value does not parse and when it breaks a rule.
func rule(sf reflect.StructField) string {
	var kind string
	switch t := sf.Type; {
	case t == durationType:
		kind = "a duration such as 5s or 250ms"
	case t == levelType:
		kind = "debug, info, warn or error"
	case t.Kind() == reflect.Bool:
		kind = "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		kind = "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		kind = "a number"
	case t.Kind() == reflect.Slice:
		kind = "a comma-separated list, each"
	}
	named := namedRules()
	params := map[string]string{}
	var order []string
	for _, r := range strings.Split(sf.Tag.Get("validate"), ",") {
		tag, param, _ := strings.Cut(r, "=")
		if tag != "" && tag != "omitempty" && tag != "dive" {
			params[tag] = param
			order = append(order, tag)
		}
	}
	show := func(p string) string {
		if sf.Type == durationType {
			if d, err := time.ParseDuration(p); err == nil {
				return d.String()
			}
		}
		return p
	}
	var parts []string
	if lo, ok := params["min"]; ok {
		if hi, ok := params["max"]; ok {
			kind += " from " + lo + " to " + hi
		}
	}
	for _, tag := range order {
		p := params[tag]
		switch tag {
		case "min":
			if _, ok := params["max"]; !ok && sf.Type.Kind() == reflect.String {
				parts = append(parts, "at least "+p+" bytes")
			} else if !ok {
				parts = append(parts, "at least "+p)
			}
		case "max":
			if _, ok := params["min"]; !ok {
				parts = append(parts, "at most "+p)
			}
		case "gt":
			parts = append(parts, "positive")
		case "gte":
			if d, err := time.ParseDuration(p); (err == nil && d == 0) || p == "0" {
				parts = append(parts, "not negative")
			} else {
				parts = append(parts, "at least "+show(p))
			}
		case "lte":
			parts = append(parts, "at most "+show(p))
		case "oneof":
			parts = append(parts, "one of "+strings.Join(strings.Fields(p), ", "))
		default:
			if r, ok := named[tag]; ok {
				parts = append(parts, r.phrase)
			}
		case "required":
			parts = append(parts, "not empty")
		}
	}
	switch {
	case kind == "" && len(parts) == 0:
		return "is invalid"
	case kind == "":
		return "must be " + strings.Join(parts, ", ")
	case len(parts) == 0:
		return "must be " + kind
	}
	return strings.Replace("must be "+kind+", "+strings.Join(parts, ", "), "each, ", "each ", 1)
}

// tidyLists trims the items of comma-separated lists and drops empty ones,
// so "a, b," is [a b].
func tidyLists(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			tidyLists(f)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String && f.CanSet():
			kept := reflect.Zero(f.Type())
			for j := range f.Len() {
				if s := strings.TrimSpace(f.Index(j).String()); s != "" {
					kept = reflect.Append(kept, reflect.ValueOf(s).Convert(f.Type().Elem()))
				}
			}
			f.Set(kept)
		}
	}
}

// Lower is a string setting compared in lower case (LOG_FORMAT=JSON is json).
type Lower string

var _ encoding.TextUnmarshaler = (*Lower)(nil)

// UnmarshalText stores the text in lower case.
func (l *Lower) UnmarshalText(b []byte) error {
	*l = Lower(strings.ToLower(string(b)))
	return nil
}
