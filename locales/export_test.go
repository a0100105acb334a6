package locales

import (
	"errors"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// Has reports whether the English catalog defines key id (for tests).
func (c *Catalog) Has(id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, err := i18n.NewLocalizer(c.bundle, "en").Localize(&i18n.LocalizeConfig{MessageID: id})
	// Any other error (a template failing without data) still means the
	// key is there.
	var notFound *i18n.MessageNotFoundErr
	return !errors.As(err, &notFound)
}

// CachedMatches returns how many negotiations c remembers (for tests).
func (c *Catalog) CachedMatches() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.matchMu.Lock()
	defer c.matchMu.Unlock()
	return len(c.matched)
}

// MaxMatchCache is maxMatchCache, for tests.
const MaxMatchCache = maxMatchCache
