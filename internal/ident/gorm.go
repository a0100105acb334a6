package ident

import (
	"fmt"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/restauth/restauth/models"
)

// callbackName names the callbacks Maintain registers.
const callbackName = "restauth:identity_keys"

var (
	userModelType    = reflect.TypeFor[models.UserModel]()
	emailAddressType = reflect.TypeFor[models.EmailAddress]()
)

// maintainMu serialises Maintain.
var maintainMu sync.Mutex

// Maintain registers, once per db, GORM callbacks that run before every
// create and update through db (and the sessions and transactions made
// from it) and set the keys of the rows written: UsernameKey and EmailKey
// of a struct embedding models.User, EmailKey of a models.EmailAddress,
// from the row's Username and Email. Structs, slices of them and maps of
// columns (Update("username", v), Updates(map)) are covered; a Select that
// names the username or email column selects its key too, an Omit omits
// it. Rows inserted by raw SQL (key ”) get their keys from the next
// AutoMigrate; a raw UPDATE of a username or email leaves the old key,
// which nothing repairs: write users through GORM models.
//
// GORM's callback lists are not safe for concurrent registration: plugins
// built at once on one db (New in parallel) register under one lock.
func Maintain(db *gorm.DB) error {
	maintainMu.Lock()
	defer maintainMu.Unlock()
	cb := db.Callback()
	if cb.Create().Get(callbackName) == nil {
		if err := cb.Create().Before("gorm:create").Register(callbackName, setKeys); err != nil {
			return fmt.Errorf("restauth: register %s: %w", callbackName, err)
		}
	}
	if cb.Update().Get(callbackName) == nil {
		if err := cb.Update().Before("gorm:update").Register(callbackName, setKeys); err != nil {
			return fmt.Errorf("restauth: register %s: %w", callbackName, err)
		}
	}
	return nil
}

// keyed is one column whose key restauth keeps: the source field's Go
// name, the key field's Go name and the function from one to the other.
type keyed struct {
	src, key string
	fn       func(string) string
}

var (
	userKeys    = []keyed{{"Username", "UsernameKey", UsernameKey}, {"Email", "EmailKey", EmailKey}}
	addressKeys = []keyed{{"Email", "EmailKey", EmailKey}}
)

// keysOf returns the keyed columns of a model type: a user's, an
// address's, or none.
func keysOf(t reflect.Type) []keyed {
	switch {
	case t == nil || t.Kind() != reflect.Struct:
		return nil
	case t == emailAddressType:
		return addressKeys
	case reflect.PointerTo(t).Implements(userModelType):
		return userKeys
	}
	return nil
}

// setKeys is the callback.
func setKeys(tx *gorm.DB) {
	st := tx.Statement
	if tx.Error != nil || st.Schema == nil {
		return
	}
	keys := keysOf(st.Schema.ModelType)
	if keys == nil {
		return
	}
	switch d := st.Dest.(type) {
	case map[string]any:
		setMap(st.Schema, keys, d)
	case []map[string]any:
		for _, m := range d {
			setMap(st.Schema, keys, m)
		}
	default:
		v := reflect.ValueOf(st.Dest)
		if v.Kind() == reflect.Struct {
			// A struct passed by value (Updates(User{...})): set the keys
			// on an addressable copy, as GORM's SetColumn does.
			p := reflect.New(v.Type())
			p.Elem().Set(v)
			st.Dest = p.Interface()
			v = p
		}
		setValue(v)
	}
	widen(st, keys)
}

// setValue sets the keys of every user or address row in v.
func setValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			setValue(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			setValue(v.Index(i))
		}
	case reflect.Struct:
		if !v.CanAddr() {
			return
		}
		switch p := v.Addr().Interface().(type) {
		case models.UserModel:
			b := p.UserBase()
			b.UsernameKey, b.EmailKey = UsernameKey(b.Username), EmailKey(b.Email)
		case *models.EmailAddress:
			p.EmailKey = EmailKey(p.Email)
		}
	}
}

// setMap adds the key of each keyed column m writes with a string.
func setMap(s *schema.Schema, keys []keyed, m map[string]any) {
	for _, k := range keys {
		keyField := s.LookUpField(k.key)
		if keyField == nil || keyField.DBName == "" {
			continue
		}
		for col, val := range m {
			f := s.LookUpField(col)
			if f == nil || f.Name != k.src {
				continue
			}
			switch v := val.(type) {
			case string:
				m[keyField.DBName] = k.fn(v)
			case *string:
				if v != nil {
					m[keyField.DBName] = k.fn(*v)
				}
			}
			break
		}
	}
}

// widen makes a statement's Select and Omit lists treat each key like
// its source column.
func widen(st *gorm.Statement, keys []keyed) {
	restricted := len(st.Selects) > 0
	for _, c := range st.Selects {
		if c == "*" {
			restricted = false
		}
	}
	for _, k := range keys {
		src, key := st.Schema.LookUpField(k.src), st.Schema.LookUpField(k.key)
		if src == nil || key == nil || key.DBName == "" {
			continue
		}
		if restricted && names(st.Schema, st.Selects, src) && !names(st.Schema, st.Selects, key) {
			st.Selects = append(st.Selects, key.DBName)
		}
		if names(st.Schema, st.Omits, src) && !names(st.Schema, st.Omits, key) {
			st.Omits = append(st.Omits, key.DBName)
		}
	}
}

// names reports whether the column list cols names field f.
func names(s *schema.Schema, cols []string, f *schema.Field) bool {
	for _, c := range cols {
		if c == f.DBName || s.LookUpField(c) == f {
			return true
		}
	}
	return false
}
