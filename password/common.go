package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed" // for the common password list
	"fmt"
	"strings"
	"sync"

	"github.com/restauth/restauth/locales"
)

// commonPasswordsGz is Django's common password list (see NOTICE).
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
	commonErr  error
)

// commonPasswords returns the embedded list as a set, decompressed on first
// use.
func commonPasswords() (map[string]struct{}, error) {
	commonOnce.Do(func() {
		commonSet, commonErr = loadCommonPasswords(commonPasswordsGz)
	})
	return commonSet, commonErr
}

func loadCommonPasswords(gz []byte) (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("password: common password list: %w", err)
	}
	defer zr.Close()
	set := make(map[string]struct{}, 20000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			set[line] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("password: common password list: %w", err)
	}
	return set, nil
}

// CommonPasswords rejects passwords found, lowercased and with surrounding
// whitespace removed, in Django's list of 19,727 common passwords, with the
// message MsgTooCommon, as Django's CommonPasswordValidator does. The list
// is embedded in the package and decompressed on first use (about 1 MB of
// memory from then on). It has no options: CommonPasswords{} is Django's
// default.
type CommonPasswords struct{}

// Validate implements Validator. The embedded list is checked by the
// package's tests; were it unreadable, Validate would report nothing.
func (CommonPasswords) Validate(password string, _ UserInfo) []locales.Message {
	set, err := commonPasswords()
	if err != nil {
		return nil
	}
	if _, ok := set[strings.TrimSpace(strings.ToLower(password))]; ok {
		return []locales.Message{locales.M(MsgTooCommon)}
	}
	return nil
}
