package verr_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

func ids(ms []locales.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	e := &verr.Error{Fields: map[string][]locales.Message{
		"username": {locales.M("a"), locales.M("b")},
		"email":    {locales.M("c")},
		"zeta":     nil,
	}}
	want := "validation failed: email=[c] username=[a b] zeta=[]"
	// Several runs: map order is random, the text must not be.
	for range 20 {
		if got := e.Error(); got != want {
			t.Fatalf("Error() = %q, want %q", got, want)
		}
	}
}

func TestFieldAndNonField(t *testing.T) {
	t.Parallel()
	e := verr.Field("password", locales.M("x"), locales.M("y", "Min", 8))
	if got := ids(e.Fields["password"]); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Fatalf("Field messages = %v", got)
	}
	if len(e.Fields) != 1 {
		t.Fatalf("Field made %d fields, want 1", len(e.Fields))
	}
	if e.Fields["password"][1].Data["Min"] != 8 {
		t.Fatalf("message data lost: %v", e.Fields["password"][1].Data)
	}
	n := verr.NonFieldError(locales.M("login.disabled"))
	if got := ids(n.Fields[verr.NonField]); !reflect.DeepEqual(got, []string{"login.disabled"}) || len(n.Fields) != 1 {
		t.Fatalf("NonFieldError = %v", n.Fields)
	}
	if verr.NonField != "non_field_errors" {
		t.Fatalf("NonField = %q, DRF's key is non_field_errors", verr.NonField)
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	var f verr.Fields
	if f.Has("a") {
		t.Fatal("zero Fields has an error")
	}
	if err := f.Err(); err != nil {
		t.Fatalf("zero Fields.Err() = %v, want nil", err)
	}
	f.Add("a", locales.M("one"))
	f.Add("a", locales.M("two"))
	f.Add("b", locales.M("three"))
	if !f.Has("a") || !f.Has("b") || f.Has("c") {
		t.Fatalf("Has wrong: %v", f)
	}
	err := f.Err()
	var e *verr.Error
	if !errors.As(err, &e) {
		t.Fatalf("Err() = %T %v, want *verr.Error", err, err)
	}
	if got := ids(e.Fields["a"]); !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Fatalf("a = %v", got)
	}
	if got := ids(e.Fields["b"]); !reflect.DeepEqual(got, []string{"three"}) {
		t.Fatalf("b = %v", got)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		merged bool
		want   map[string][]string
	}{
		{"nil", nil, true, map[string][]string{"a": {"first"}}},
		{"field error", verr.Field("a", locales.M("second")), true,
			map[string][]string{"a": {"first", "second"}}},
		{"wrapped field error", fmt.Errorf("ctx: %w", verr.Field("b", locales.M("x"), locales.M("y"))), true,
			map[string][]string{"a": {"first"}, "b": {"x", "y"}}},
		{"other error", errors.New("boom"), false, map[string][]string{"a": {"first"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f verr.Fields
			f.Add("a", locales.M("first"))
			if got := f.Merge(tc.err); got != tc.merged {
				t.Fatalf("Merge = %v, want %v", got, tc.merged)
			}
			got := map[string][]string{}
			for k, v := range f {
				got[k] = ids(v)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}
