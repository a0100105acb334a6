// Package password hashes and verifies user passwords and checks new ones
// against password rules, compatibly with Django.
//
// restauth hashes with a [Hasher] and checks new passwords with a list of
// [Validator] values, both taken from its configuration; by default they are
// [Default] and [DefaultValidators]. Apps can pass their own, or use this
// package directly, for example in a command that creates users or imports
// a Django user table.
//
// # Hashers
//
// A stored password is a string in Django's "<algorithm>$<fields>" format,
// for example
//
//	argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// [Default] hashes new passwords with Argon2id and OWASP's parameters
// ([DefaultArgon2id]), and also verifies the strings of Django's
// Argon2PasswordHasher (argon2id, and the older argon2i),
// PBKDF2PasswordHasher (pbkdf2_sha256), PBKDF2SHA1PasswordHasher
// (pbkdf2_sha1), BCryptSHA256PasswordHasher (bcrypt_sha256) and
// BCryptPasswordHasher (bcrypt). Its NeedsRehash reports true for all of
// those but Argon2id with the default parameters, so that a caller can store
// a new hash after a successful login, as Django does: a user table can be
// shared with, or migrated from, a Django project, and users move to
// Argon2id as they log in. The hashes made here are in the same formats.
//
// Each algorithm is a struct type whose zero value uses the defaults:
// [Argon2id], [PBKDF2], [BcryptSHA256] and [Bcrypt]. [NewMulti] combines
// several into one Hasher that hashes with a primary hasher and verifies a
// string with the hasher its algorithm name selects; this is how an app
// chooses other parameters or adds a hasher of its own.
//
// The empty string and strings starting with [UnusablePrefix] are unusable
// passwords (Django's set_unusable_password): Verify reports false for them,
// without an error. For other strings it can fail with an error wrapping
// [ErrUnknownFormat], [ErrMalformed] or [ErrParameters]; callers treat any
// error as "no match". Cost parameters read from a stored string are
// bounded, so that a corrupted or hostile hash cannot make Verify allocate
// gigabytes or run for minutes.
//
// # Writing a Hasher
//
// Any type with the Hash, Verify and NeedsRehash methods is a [Hasher]; with
// an Algorithm method too it is a [NamedHasher], which [NewMulti] accepts
// next to the hashers of this package. An implementation must:
//
//   - be safe for concurrent use: one value serves every request;
//   - compare secrets in constant time, with crypto/subtle's
//     ConstantTimeCompare or a primitive that does so (as bcrypt does);
//   - never put the password or the encoded string into an error (or a
//     log); wrap ErrUnknownFormat, ErrMalformed or ErrParameters instead;
//   - treat unusable strings (see [IsUsable]) as "no match, no error" in
//     Verify and as "no rehash" in NeedsRehash;
//   - bound whatever cost parameters it reads from a stored string;
//   - as a NamedHasher, make strings that start with its algorithm name and
//     "$", with a name that contains no "$" and no other hasher of the
//     same Multi uses.
//
// The Hasher example wraps Argon2id to add a pepper.
//
// # Validators
//
// The validators are Django's four default password validators:
// [UserAttributeSimilarity], [MinimumLength], [CommonPasswords] and
// [NumericPassword]. [DefaultValidators] returns them in Django's order with
// Django's settings. Each is a struct whose fields are the options of
// Django's validator and whose zero value means Django's defaults, so that
// an app sets only what it changes:
//
//	validators := []password.Validator{
//		password.UserAttributeSimilarity{MaxSimilarity: 0.5},
//		password.MinimumLength{Min: 12},
//		password.CommonPasswords{},
//		password.NumericPassword{},
//	}
//
// [Validate] runs a list of validators and returns the messages of all of
// them, as Django reports every failure at once.
//
// Validators return [locales.Message] values, a message key and its template
// data, rather than text, so that responses can be translated. The keys are
// [MsgTooSimilar], [MsgTooShort], [MsgTooCommon] and [MsgEntirelyNumeric];
// their English texts are in the catalog of the locales package, and
// [locales.Catalog.Text] renders them.
//
// # Writing a Validator
//
// Implement [Validator], or convert a function with [ValidatorFunc].
// Validate receives the new password and the user's [UserInfo] and returns
// nil when the password passes, or one message per problem. Use a message
// key of the app's own and either add its texts to the catalog
// ([locales.Catalog.AddMessages] or [locales.Catalog.AddFile]) or set the
// message's Default field to the English text. A Validator must be safe for
// concurrent use and must not log or keep the password.
package password
