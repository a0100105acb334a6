package main

import (
	"cmp"
	"embed"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
)

// The demo page: one HTML file and its script and style sheet, no build
// step. Every page path serves the same HTML; the script reads
// location.pathname to choose what to show.

//go:embed web/index.html web/app.js web/style.css
var webFiles embed.FS

// demoCSP is the Content-Security-Policy of the demo's HTML: its own
// script and style sheet only, no inline code, no framing.
const demoCSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// demoPagePaths are the paths that serve index.html, each also with a
// trailing slash: the start page, the two e-mailed links and the social
// login's return.
var demoPagePaths = []string{"/confirm-email/:key", "/reset/:uid/:token", "/social/:provider/callback"}

// demoCallbackPath is the path of the demo page's social login callback
// for provider name: one of the provider's default redirect URIs.
func demoCallbackPath(name string) string { return "/social/" + name + "/callback" }

// demoConfig is /demo/config.json: what the page needs to know about the
// server's settings. It holds no secret.
type demoConfig struct {
	API               string         `json:"api"`
	Mode              string         `json:"mode"`        // "token" or "jwt"
	JWTCookies        bool           `json:"jwt_cookies"` // the access token rides in a cookie
	CSRFCookie        string         `json:"csrf_cookie"`
	CSRFHeader        string         `json:"csrf_header"`
	CSRF              bool           `json:"csrf"` // unsafe requests carry the CSRF header
	Providers         []demoProvider `json:"providers"`
	Mailer            string         `json:"mailer"` // "console" or "smtp"
	Outbox            bool           `json:"outbox"`
	EmailVerification string         `json:"email_verification"`
	LoginMethods      []string       `json:"login_methods"`
	OldPasswordField  bool           `json:"old_password_field"`
	Registration      bool           `json:"registration"` // registration/ is mounted
}

// demoProvider is a social provider the page can log in with: its name
// and the page's own callback, one of its redirect URIs.
type demoProvider struct {
	Name        string `json:"name"`
	RedirectURI string `json:"redirect_uri"`
}

// newDemoConfig describes cfg (the Config given to restauth.New, before
// its defaults) for the page; outbox tells whether /outbox is served.
func newDemoConfig(cfg restauth.Config, outbox bool) demoConfig {
	d := demoConfig{
		API:               apiPath,
		Mode:              "token",
		CSRFCookie:        cmp.Or(cfg.JWT.CSRFCookieName, "csrftoken"),
		CSRFHeader:        cmp.Or(cfg.JWT.CSRFHeaderName, "X-CSRFToken"),
		Providers:         []demoProvider{},
		Mailer:            "console",
		Outbox:            outbox,
		EmailVerification: string(cmp.Or(cfg.Registration.EmailVerification, restauth.VerificationOptional)),
		LoginMethods:      []string{},
		OldPasswordField:  cfg.PasswordChange.OldPasswordFieldEnabled,
		Registration:      !cfg.Registration.Disabled,
	}
	if cfg.JWT.Enabled {
		d.Mode = "jwt"
		cookies := cfg.JWT.Cookie != "" || cfg.JWT.RefreshCookie != ""
		d.JWTCookies = cfg.JWT.Cookie != ""
		d.CSRF = cookies && (cfg.JWT.CookieUseCSRF || cfg.JWT.EnforceCSRFOnUnauthenticated)
	}
	if _, smtp := cfg.Mailer.(*emails.SMTPMailer); smtp {
		d.Mailer = "smtp"
	}
	for _, m := range cfg.LoginMethods {
		d.LoginMethods = append(d.LoginMethods, string(m))
	}
	if len(d.LoginMethods) == 0 {
		d.LoginMethods = []string{string(restauth.LoginByUsername), string(restauth.LoginByEmail)}
	}
	site := strings.TrimRight(cfg.SiteURL, "/")
	for _, p := range cfg.Social.Providers {
		// Only a provider that may send the browser back to the page
		// (a code flow with the page's callback among its redirect URIs).
		callback := site + demoCallbackPath(p.Name)
		if p.OAuth2 != nil && slices.Contains(p.RedirectURIs, callback) {
			d.Providers = append(d.Providers, demoProvider{Name: p.Name, RedirectURI: callback})
		}
	}
	return d
}

// demoHeaders sets the headers every demo answer carries.
func demoHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", demoCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the page's address may hold a reset token
	h.Set("Cache-Control", "no-store")
	c.Next()
}

// mountDemo adds the demo page, its assets, its configuration and, when
// outbox is not nil, the outbox pages to r.
func mountDemo(r gin.IRouter, cfg demoConfig, outbox *devOutbox) error {
	read := func(name string) ([]byte, error) { return webFiles.ReadFile("web/" + name) }
	index, err := read("index.html")
	if err != nil {
		return err
	}
	script, err := read("app.js")
	if err != nil {
		return err
	}
	style, err := read("style.css")
	if err != nil {
		return err
	}
	serve := func(contentType string, body []byte) gin.HandlerFunc {
		return func(c *gin.Context) { c.Data(http.StatusOK, contentType, body) }
	}
	g := r.Group("", demoHeaders)
	page := serve("text/html; charset=utf-8", index)
	g.GET("/", page)
	for _, p := range demoPagePaths {
		g.GET(p, page)
		g.GET(p+"/", page)
	}
	g.GET("/assets/app.js", serve("text/javascript; charset=utf-8", script))
	g.GET("/assets/style.css", serve("text/css; charset=utf-8", style))
	g.GET("/demo/config.json", func(c *gin.Context) { c.JSON(http.StatusOK, cfg) })
	if outbox != nil {
		g.GET("/outbox", localOnly, outbox.page)
		g.GET("/outbox.json", localOnly, outbox.json)
	}
	return nil
}

// localOnly answers 404 unless the request comes from this machine and
// names it: the outbox holds reset and confirmation links, so neither
// another machine (ADDR on a LAN address) nor a page that rebinds its own
// domain name to 127.0.0.1 may read it.
func localOnly(c *gin.Context) {
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	remote := net.ParseIP(host)
	if err != nil || remote == nil || !remote.IsLoopback() || !loopbackHost(c.Request.Host) {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	c.Next()
}

// loopbackHost reports whether a Host header names this machine
// (localhost or a loopback address, with or without a port).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}
