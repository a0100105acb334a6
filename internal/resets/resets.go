// Package resets makes and checks stateless password-reset links: the
// uid (base64 of the user's key) and a token that dies with any change to
// the user's password, last login or email, or when it times out.
package resets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth/models"
)

// epoch is where token timestamps count from (Django's choice).
var epoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// EncodeUID returns the URL-safe, unpadded base64 of the user's primary key.
func EncodeUID(id uint) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(uint64(id), 10)))
}

// DecodeUID reverses EncodeUID; ok is false for anything that is not one.
func DecodeUID(uid string) (uint, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(uid, "="))
	if err != nil || len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n == 0 || uint64(uint(n)) != n {
		return 0, false
	}
	return uint(n), true
}

// Tokens makes and checks reset tokens:
// "<base36 seconds since 2001>-<hex HMAC-SHA256>" over the user's pk,
// password hash, last login, email and the timestamp.
type Tokens struct {
	Key     []byte // derived from the app's SecretKey
	Timeout time.Duration
	Now     func() time.Time
}

// Make returns a token for u.
func (r Tokens) Make(u *models.User) string {
	ts := int64(r.Now().Sub(epoch) / time.Second)
	return strconv.FormatInt(ts, 36) + "-" + r.mac(u, ts)
}

// Check reports whether token is valid for u now.
func (r Tokens) Check(u *models.User, token string) bool {
	tsPart, macPart, ok := strings.Cut(token, "-")
	if !ok || len(tsPart) == 0 || len(tsPart) > 13 || len(macPart) != 64 {
		return false
	}
	ts, err := strconv.ParseInt(tsPart, 36, 64)
	if err != nil || ts < 0 {
		return false
	}
	if !hmac.Equal([]byte(macPart), []byte(r.mac(u, ts))) {
		return false
	}
	age := r.Now().Sub(epoch.Add(time.Duration(ts) * time.Second))
	return age >= -time.Minute && age <= r.Timeout
}

func (r Tokens) mac(u *models.User, ts int64) string {
	login := ""
	if u.LastLogin != nil {
		login = strconv.FormatInt(u.LastLogin.Unix(), 10)
	}
	h := hmac.New(sha256.New, r.Key)
	fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\x00%d", u.ID, u.Password, login, strings.ToLower(u.Email), ts)
	return hex.EncodeToString(h.Sum(nil))
}
