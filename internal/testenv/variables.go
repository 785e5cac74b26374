package testenv

import (
	"reflect"
	"slices"
	"testing"

	"github.com/osms/sports-service/config"
)

// CheckVariables checks a package's list of environment variables against
// its loader: load asks for exactly the listed names, and setting a listed
// default explicitly gives the same configuration as leaving it unset.
func CheckVariables[C any](t *testing.T, vars []config.Variable, load func(getenv func(string) string) (C, error)) {
	t.Helper()
	var asked []string
	unset, err := load(func(name string) string {
		asked = append(asked, name)
		return ""
	})
	if err != nil {
		t.Fatalf("load with nothing set: %v", err)
	}
	var listed []string
	for _, v := range vars {
		listed = append(listed, v.Name)
		if v.Help == "" {
			t.Errorf("%s has no help text", v.Name)
		}
	}
	slices.Sort(asked)
	asked = slices.Compact(asked)
	slices.Sort(listed)
	if !slices.Equal(asked, listed) {
		t.Errorf("the loader reads %q; Variables lists %q", asked, listed)
	}
	for _, v := range vars {
		if v.Default == "" {
			continue
		}
		explicit, err := load(func(name string) string {
			if name == v.Name {
				return v.Default
			}
			return ""
		})
		if err != nil {
			t.Errorf("%s=%q (its listed default): %v", v.Name, v.Default, err)
		} else if !reflect.DeepEqual(explicit, unset) {
			t.Errorf("%s=%q (its listed default) gives %+v; unset gives %+v", v.Name, v.Default, explicit, unset)
		}
	}
}
