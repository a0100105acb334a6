package main

import (
	"net/http"
	"testing"

	"github.com/restauth/restauth/internal/contract"
)

// checked returns a's router with every exchange under /rest-auth/
// checked against the OpenAPI document the example serves (as the root
// package's tests do): an answer the document does not describe fails t.
func checked(t testing.TB, a *app) http.Handler {
	t.Helper()
	raw, err := a.auth.OpenAPI(apiPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.New(raw, apiPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range c.Problems() {
			t.Errorf("OpenAPI contract: %s", p)
		}
	})
	return c.Handler(a.router)
}
