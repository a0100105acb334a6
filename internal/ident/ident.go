// Package ident normalises the identities users log in with, the same
// way on every database:
//
//   - a username is stored NFKC-normalised (Django's normalize_username),
//     so "ｍain" (a fullwidth m) is stored, and found, as "main";
//   - an e-mail address is stored with its domain lower-cased (Django's
//     normalize_email), its local part as given;
//   - both are compared through a key: the Unicode case folding of the
//     NFKC form, normalised again (Unicode's compatibility caseless
//     match). Keys are stored in their own columns (users' username_key
//     and email_key, addresses' email_key) with unique indexes, because
//     SQLite's lower() folds ASCII letters only while PostgreSQL's folds
//     every letter: "ÉLAN" and "élan", "STRASSE" and "straße", "ΟΔΟΣ" and
//     "οδος" have one key.
//
// Folding is Unicode's default (not Turkish): "I" folds to "i" and "İ"
// to "i̇", while the dotless "ı" stays apart.
//
// Maintain registers GORM callbacks that keep the keys of rows written
// through GORM in step with their usernames and addresses.
package ident

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Username returns s NFKC-normalised, as Django's
// AbstractBaseUser.normalize_username does.
func Username(s string) string { return norm.NFKC.String(s) }

// UsernameKey returns the key usernames are compared by: s NFKC-normalised,
// case-folded and normalised again, so that equal keys mean the same
// name in any letter case and any compatibility form.
func UsernameKey(s string) string { return key(s) }

// Email returns s as Django's BaseUserManager.normalize_email does: when
// it has an '@', surrounding white space is trimmed and the domain part
// (after the last '@') lower-cased; the local part is kept as given.
// Without an '@', s is returned unchanged.
func Email(s string) string {
	t := strings.TrimSpace(s)
	at := strings.LastIndexByte(t, '@')
	if at < 0 {
		return s
	}
	return t[:at+1] + cases.Lower(language.Und).String(t[at+1:])
}

// EmailKey returns the key addresses are compared by: the key of
// Email(s), so the whole address compares case-insensitively.
func EmailKey(s string) string { return key(Email(s)) }

// key is NFKC(fold(NFKC(s))). A Caser is not safe for concurrent use, so
// each call makes its own.
func key(s string) string {
	if s == "" {
		return ""
	}
	return norm.NFKC.String(cherokeeUpper(cases.Fold().String(norm.NFKC.String(s))))
}

// cherokeeUpper maps Cherokee small letters to capitals. Unicode folds
// Cherokee to capitals, but x/text's Fold swaps its two cases
// (golang/go#46101), which would make "Ꭰ" and "ꭰ" two keys.
func cherokeeUpper(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return (r >= 0xAB70 && r <= 0xABBF) || (r >= 0x13F8 && r <= 0x13FD) }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xAB70 && r <= 0xABBF:
			return r - 0xAB70 + 0x13A0
		case r >= 0x13F8 && r <= 0x13FD:
			return r - 8
		}
		return r
	}, s)
}
