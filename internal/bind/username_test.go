package bind_test

import (
	"testing"

	"github.com/restauth/restauth/internal/bind"
)

// TestUsernameValidatedInNFKC: the username rule sees the NFKC form the
// name is stored in (as Django normalises before validating).
func TestUsernameValidatedInNFKC(t *testing.T) {
	t.Parallel()
	type form struct {
		Username string `json:"username" binding:"required,username"`
	}
	for name, ok := range map[string]bool{
		"E\u0301LAN":    true,  // combining acute composes to É
		"ｍain":          true,  // fullwidth letters fold to ASCII
		"a\u0301\u0301": false, // a second mark stays a mark
		"bad name":      false,
	} {
		var f form
		err := bind.Struct(map[string]any{"username": name}, &f, false)
		if (err == nil) != ok {
			t.Errorf("%q: err %v, want ok=%v", name, err, ok)
		}
	}
}
