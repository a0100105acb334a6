package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestPprofListener: EXAMPLE_PPROF listens on loopback only, answers a
// request that names this machine, and 404s one whose Host is another
// name (a page rebinding its domain to 127.0.0.1).
func TestPprofListener(t *testing.T) {
	t.Parallel()
	if _, err := startPprof("0.0.0.0:0", io.Discard); err == nil {
		t.Fatal("a non-loopback address was accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	var out strings.Builder
	stop, err := startPprof(addr, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(host string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/debug/pprof/cmdline", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	if code := get(addr); code != 200 {
		t.Fatalf("loopback Host: %d", code)
	}
	if code := get("rebind.example:6060"); code != 404 {
		t.Fatalf("foreign Host: %d", code)
	}
}
