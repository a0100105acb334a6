package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestServes starts the provider on a free port, reads the lines it
// prints, and fetches the discovery document of the printed issuer.
func TestServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		_ = pw.CloseWithError(err)
		done <- err
	}()
	exports := map[string]string{}
	var comments []string
	sc := bufio.NewScanner(pr)
	for len(exports) < 3 && sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "# "); ok {
			comments = append(comments, c)
			continue
		}
		kv, ok := strings.CutPrefix(line, "export ")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || v == "" || strings.ContainsAny(v, " '\"$`\\") {
			t.Fatalf("line %q is not a shell export of a plain value", line)
		}
		exports[k] = v
	}
	if err := sc.Err(); err != nil || len(exports) < 3 {
		t.Fatalf("printed only %v (%v)", exports, err)
	}
	issuer := exports["SOCIAL_OIDC_ISSUER"]
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" || u.Path != "/oidc" {
		t.Fatalf("issuer %q", issuer)
	}
	if _, port, _ := net.SplitHostPort(u.Host); port == "0" || port == "" {
		t.Fatalf("issuer %q does not show the real port", issuer)
	}
	if len(comments) == 0 || !strings.Contains(comments[0], u.Host) {
		t.Errorf("first comment %q does not show the address %s", comments, u.Host)
	}
	for _, k := range []string{"SOCIAL_OIDC_CLIENT_ID", "SOCIAL_OIDC_CLIENT_SECRET"} {
		if len(exports[k]) < 16 {
			t.Errorf("%s=%q", k, exports[k])
		}
	}

	res, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Issuer   string `json:"issuer"`
		AuthURL  string `json:"authorization_endpoint"`
		TokenURL string `json:"token_endpoint"`
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	_ = res.Body.Close()
	if err != nil || res.StatusCode != 200 || doc.Issuer != issuer || doc.AuthURL != issuer+"/authorize" || doc.TokenURL != issuer+"/token" {
		t.Fatalf("discovery: %d %+v (%v)", res.StatusCode, doc, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after interrupt: %v", err)
	}
	if _, err := http.Get(issuer + "/.well-known/openid-configuration"); err == nil {
		t.Fatal("still serving after the context ended")
	}
}

// TestBadArguments: run refuses what it cannot serve, at once.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() }) // after the parallel subtests
	// An ended context: were a case to start serving, run would return
	// at once instead of blocking the test.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "usage: mockprovider [-addr HOST:PORT]"},
		{[]string{"-port", "9400"}, "usage: mockprovider [-addr HOST:PORT]"},
		{[]string{"-addr"}, "usage: mockprovider [-addr HOST:PORT]"},
		{[]string{"-addr", "nonsense"}, "missing port"},
		{[]string{"-addr", busy.Addr().String()}, "address already in use"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := run(ended, tc.args, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error holding %q", tc.args, err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q before failing", out.String())
			}
		})
	}
}
