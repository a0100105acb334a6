package restauth_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

// Example mounts restauth on a Gin router, signs a user up through
// registration/ and reads user/ with the token key it got.
func Example() {
	// The app's user type: the base user plus its own columns, in one
	// table.
	type Customer struct {
		models.User
		CompanyName string `gorm:"size:100" json:"company_name"`
	}

	dir, err := os.MkdirTemp("", "restauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open("file:"+filepath.Join(dir, "app.db")+"?_busy_timeout=5000"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()

	outbox := &emails.Outbox{} // keeps the confirmation email in memory
	auth, err := restauth.New[Customer](db, restauth.Config{
		SecretKey: "an example secret key of at least 32 bytes",
		SiteURL:   "https://example.com",
		Mailer:    outbox,
		// A cheap hasher keeps the example fast; keep the default
		// (Argon2id) in production.
		Password: restauth.PasswordConfig{Hasher: password.PBKDF2{Iterations: 1000}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := auth.AutoMigrate(); err != nil {
		log.Fatal(err)
	}
	router := gin.New()
	auth.Register(router.Group("/rest-auth"))

	// Sign up: optional email verification (the default) logs the new
	// user in at once and still sends the confirmation email.
	req := httptest.NewRequest(http.MethodPost, "/rest-auth/registration/",
		strings.NewReader(`{"username": "alice", "email": "alice@example.com",
			"password1": "Sunny-Meadow-42", "password2": "Sunny-Meadow-42"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	var signup struct{ Key string }
	if err := json.Unmarshal(rec.Body.Bytes(), &signup); err != nil {
		log.Fatal(err)
	}
	fmt.Println("registration:", rec.Code, "key length", len(signup.Key))

	// Read the user with the token key.
	req = httptest.NewRequest(http.MethodGet, "/rest-auth/user/", nil)
	req.Header.Set("Authorization", "Token "+signup.Key)
	rec = httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	fmt.Println("user:", rec.Code, rec.Body.String())

	// Emails are sent after the request; Shutdown waits for them.
	if err := auth.Shutdown(req.Context()); err != nil {
		log.Fatal(err)
	}
	for _, m := range outbox.Messages() {
		fmt.Println("email to", m.To, "-", m.Subject)
	}

	// Output:
	// registration: 201 key length 40
	// user: 200 {"pk":1,"username":"alice","email":"alice@example.com","first_name":"","last_name":""}
	// email to [alice@example.com] - Please confirm your email address on example.com
}
