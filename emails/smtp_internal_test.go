package emails

import "testing"

func TestSMTPDefaultPorts(t *testing.T) {
	tests := []struct {
		addr     string
		mode     TLSMode
		wantHost string
		wantPort int
	}{
		{"smtp.example.com", TLSMandatory, "smtp.example.com", 587},
		{"smtp.example.com", TLSOpportunistic, "smtp.example.com", 587},
		{"smtp.example.com", TLSNone, "smtp.example.com", 25},
		{"smtp.example.com", TLSImplicit, "smtp.example.com", 465},
		{"smtp.example.com:2525", TLSImplicit, "smtp.example.com", 2525},
		{"[2001:db8::1]", TLSNone, "2001:db8::1", 25},
		{"[2001:db8::1]:26", TLSNone, "2001:db8::1", 26},
	}
	for _, tc := range tests {
		t.Run(tc.addr+"/"+tc.mode.String(), func(t *testing.T) {
			m, err := NewSMTP(SMTPConfig{Addr: tc.addr, From: "a@example.com", TLS: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			if m.host != tc.wantHost || m.port != tc.wantPort {
				t.Fatalf("host:port = %s:%d, want %s:%d", m.host, m.port, tc.wantHost, tc.wantPort)
			}
			if m.tlsConfig.ServerName != tc.wantHost {
				t.Fatalf("TLS ServerName = %q, want %q", m.tlsConfig.ServerName, tc.wantHost)
			}
		})
	}
}
