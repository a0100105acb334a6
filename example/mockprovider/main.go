// Command mockprovider runs a local OpenID Connect provider
// (github.com/oauth2-proxy/mockoidc) to try the example's social login on
// one machine, without registering an app anywhere:
//
//	go run ./example/mockprovider                       # on 127.0.0.1:9400
//	go run ./example/mockprovider -addr 127.0.0.1:9500
//
// It prints the example's SOCIAL_OIDC_* variables as export lines to paste
// into the example's terminal, and serves until interrupted. Every
// authorization it grants logs in the same user, mockoidc's default
// (subject 1234567890, jane.doe@example.com, verified), without asking
// anything. Its client id, client secret and signing key are new on every
// start: restart the example after restarting it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mockprovider:", err)
		os.Exit(1)
	}
}

// run serves the provider on -addr until ctx is done, after printing
// its settings on stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mockprovider", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:9400", "listen address")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errors.New("usage: mockprovider [-addr HOST:PORT]")
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if err := m.Start(ln, nil); err != nil {
		_ = ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "# mockoidc serving on %s (Ctrl-C stops it); every login is jane.doe@example.com.\n", m.Addr())
	fmt.Fprintf(stdout, "# Paste these lines into the example's terminal:\n")
	fmt.Fprintf(stdout, "export SOCIAL_OIDC_ISSUER=%s\n", m.Issuer())
	fmt.Fprintf(stdout, "export SOCIAL_OIDC_CLIENT_ID=%s\n", m.ClientID)
	fmt.Fprintf(stdout, "export SOCIAL_OIDC_CLIENT_SECRET=%s\n", m.ClientSecret)
	<-ctx.Done()
	return m.Shutdown()
}
