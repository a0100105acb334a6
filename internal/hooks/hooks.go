// Package hooks holds the app's typed callbacks. They run after the
// change they report has been committed.
package hooks

import "context"

// Hooks are the callbacks of one Plugin[U]; nil slices are skipped.
type Hooks[U any] struct {
	OnLogin           []func(ctx context.Context, u *U)
	OnLogout          []func(ctx context.Context, u *U)
	OnPasswordChanged []func(ctx context.Context, u *U)
	OnPasswordReset   []func(ctx context.Context, u *U)
	OnUserSignedUp    []func(ctx context.Context, u *U)
	OnEmailConfirmed  []func(ctx context.Context, u *U)
}

// Run calls each fn with u.
func Run[U any](ctx context.Context, fns []func(context.Context, *U), u *U) {
	for _, fn := range fns {
		fn(ctx, u)
	}
}
