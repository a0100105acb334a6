// Package locales holds restauth's message catalogs and turns message keys
// into text in the language a request asks for.
//
// Every message restauth shows a client is a Message: a stable key plus
// template data. The English catalog (en.json) is embedded; an app adds
// languages with Catalog.AddFile or Catalog.AddMessages without touching any
// handler.
package locales

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed en.json
var files embed.FS

// Message is one translatable message: a catalog key and the values its
// template uses. Default is the English text used when the key is missing
// from every catalog (for messages an app defines in its own code).
type Message struct {
	ID      string
	Data    map[string]any
	Default string
}

// M returns a Message for key id with optional data given as alternating
// name/value pairs: M("field.max_length", "Max", 150).
func M(id string, kv ...any) Message {
	m := Message{ID: id}
	if len(kv) > 1 {
		m.Data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			name, _ := kv[i].(string)
			m.Data[name] = kv[i+1]
		}
	}
	return m
}

// Catalog is a set of message translations. It is safe for concurrent use.
type Catalog struct {
	mu     sync.RWMutex
	bundle *i18n.Bundle
}

// New returns a Catalog holding the embedded English messages.
func New() *Catalog {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	data, err := files.ReadFile("en.json")
	if err == nil {
		_, err = b.ParseMessageFileBytes(data, "en.json")
	}
	if err != nil {
		// The embedded catalog is part of the build; a parse failure is a
		// programming error caught by the package's tests.
		panic(fmt.Sprintf("locales: embedded catalog: %v", err))
	}
	return &Catalog{bundle: b}
}

// AddFile adds the messages of a JSON catalog file whose name ends in
// "<lang>.json", such as "fr.json" or "active.de.json", given its content.
func (c *Catalog) AddFile(name string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.bundle.ParseMessageFileBytes(data, name); err != nil {
		return fmt.Errorf("locales: add %s: %w", name, err)
	}
	return nil
}

// AddMessages adds translations for one language: key -> text.
func (c *Catalog) AddMessages(lang string, messages map[string]string) error {
	tag, err := language.Parse(lang)
	if err != nil {
		return fmt.Errorf("locales: language %q: %w", lang, err)
	}
	ms := make([]*i18n.Message, 0, len(messages))
	for id, text := range messages {
		ms = append(ms, &i18n.Message{ID: id, Other: text})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bundle.AddMessages(tag, ms...)
}

// Text renders m in the best language of accept (an Accept-Language header
// value, or ""), falling back to English, then to m.Default, then to m.ID.
func (c *Catalog) Text(accept string, m Message) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cfg := &i18n.LocalizeConfig{MessageID: m.ID, TemplateData: m.Data}
	s, err := i18n.NewLocalizer(c.bundle, accept, "en").Localize(cfg)
	if err != nil || s == "" {
		// The chosen language may lack this key: fall back to English.
		s, err = i18n.NewLocalizer(c.bundle, "en").Localize(cfg)
	}
	if err == nil && s != "" {
		return s
	}
	if m.Default != "" {
		return m.Default
	}
	return m.ID
}
