// Package restauth gives a Gin application the REST authentication API of
// django-rest-auth / dj-rest-auth — login, logout, user details, password
// change and reset by email, registration with email verification, token
// keys or JSON Web Tokens — on the application's own GORM user model, with
// the same paths, field names, status codes and error JSON, so clients
// written for a Django backend work unchanged.
//
// An application declares a user type that embeds [models.User], then
// writes three lines:
//
//	type Customer struct {
//		models.User
//		CompanyName string `gorm:"size:100" json:"company_name"`
//	}
//
//	auth, err := restauth.New[Customer](db, restauth.Config{SecretKey: secret})
//	if err != nil { ... }
//	if err := auth.AutoMigrate(); err != nil { ... }
//	auth.Register(router.Group("/rest-auth"))
//
// [Plugin.RequireAuth] protects the application's own routes, and
// [CurrentUser] returns the authenticated user inside their handlers.
// [Plugin.Handlers] returns each endpoint on its own, to mount at paths of
// the application's choosing.
//
// [Config] holds the settings every feature shares and one nested struct
// per feature (Password, Token, JWT, Registration, PasswordReset,
// PasswordChange, Logout); each field's documentation names the Django
// setting it stands for. The zero value of every field but SecretKey means
// its default, and [New] names the full path of a bad field in its error.
// Options ([WithUserSerializer], [WithAuthenticator], [WithCheck],
// [WithRegistrationFields], [OnLogin] and the other On hooks...) plug the
// application's own code into the endpoints and the login pipeline.
//
// Public building blocks live in sub-packages: handlers (the request body
// type Input, UserSerializer, Authenticator, Endpoints and the errors they
// return), password (hashers and validators), emails (mailers and
// templates), locales (message catalogs), models (the GORM models) and dto
// (request and response bodies). The README has the full manual: every
// endpoint, every setting and walk-throughs with curl.
package restauth
