package smtpsink_test

import (
	"strings"
	"testing"

	"github.com/restauth/restauth/internal/smtpsink"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestReceivedParsing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		raw         string
		wantSubject string
		wantText    string
		wantHTML    string
		wantErr     bool
	}{
		{
			name:        "plain, no headers about content",
			raw:         "Subject: Hello\n\nJust text\nsecond line\n",
			wantSubject: "Hello",
			wantText:    "Just text\nsecond line\n",
		},
		{
			name: "quoted-printable alternative with encoded-word subject",
			raw: `Subject: =?UTF-8?q?R=C3=A9init_=E2=9C=93?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

=C3=A9t=C3=A9 a soft=
 break and a=3Dsign
--b1
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

<p class=3D"x">=C3=A9</p>
--b1--
`,
			wantSubject: "R\u00e9init \u2713",
			wantText:    "\u00e9t\u00e9 a soft break and a=sign",
			wantHTML:    `<p class="x">` + "\u00e9</p>",
		},
		{
			name: "base64 parts inside multipart/mixed, B-encoded subject",
			raw: `Subject: =?UTF-8?B?w6l0w6k=?=
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

` + wrap("aGVsbG8gd29ybGQKc2Vjb25kIGxpbmUK") + `
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: BASE64

PGI+aGk8L2I+
--inner--
--outer
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0=
--outer--
`,
			wantSubject: "\u00e9t\u00e9",
			wantText:    "hello world\nsecond line\n",
			wantHTML:    "<b>hi</b>",
		},
		{
			name:        "HTML only",
			raw:         "Subject: h\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n<p>x</p>\n",
			wantSubject: "h",
			wantHTML:    "<p>x</p>\n",
		},
		{
			name:    "unknown transfer encoding",
			raw:     "Subject: x\nContent-Transfer-Encoding: x-uuencode\n\nbody\n",
			wantErr: true,
		},
		{
			name:    "bad base64",
			raw:     "Subject: x\nContent-Transfer-Encoding: base64\n\n!!!!\n",
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := smtpsink.Received{Data: crlf(tc.raw)}
			text, errT := r.TextBody()
			html, errH := r.HTMLBody()
			if tc.wantErr {
				if errT == nil || errH == nil {
					t.Fatalf("want errors, got text %q (%v), html %q (%v)", text, errT, html, errH)
				}
				return
			}
			if errT != nil || errH != nil {
				t.Fatalf("errors: %v, %v", errT, errH)
			}
			subj, err := r.Subject()
			if err != nil || subj != tc.wantSubject {
				t.Errorf("Subject = %q (%v), want %q", subj, err, tc.wantSubject)
			}
			if text != tc.wantText {
				t.Errorf("TextBody = %q, want %q", text, tc.wantText)
			}
			if html != tc.wantHTML {
				t.Errorf("HTMLBody = %q, want %q", html, tc.wantHTML)
			}
		})
	}
}

// wrap splits s into lines of 8 characters, as base64 bodies are wrapped.
func wrap(s string) string {
	var b strings.Builder
	for len(s) > 8 {
		b.WriteString(s[:8] + "\n")
		s = s[8:]
	}
	b.WriteString(s)
	return b.String()
}

func TestReceivedHeaderError(t *testing.T) {
	t.Parallel()
	r := smtpsink.Received{Data: []byte("no header separator and no colon")}
	if _, err := r.Header(); err == nil {
		t.Fatal("Header of garbage succeeded")
	}
}
