// Package dbx carries a GORM transaction through a context, so that
// services and stores built on GORM join the caller's transaction.
package dbx

import (
	"context"

	"gorm.io/gorm"
)

type txKey struct{}

// WithTx returns ctx carrying tx.
func WithTx(ctx context.Context, tx *gorm.DB) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// DB returns the transaction carried by ctx, or db, bound to ctx.
func DB(ctx context.Context, db *gorm.DB) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok && tx != nil {
		return tx.WithContext(ctx)
	}
	return db.WithContext(ctx)
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok && tx != nil
}

// Transaction runs fn in a transaction on db (or joins the one ctx
// carries, as a savepoint); fn's context carries the transaction.
func Transaction(ctx context.Context, db *gorm.DB, fn func(ctx context.Context, tx *gorm.DB) error) error {
	return DB(ctx, db).Transaction(func(tx *gorm.DB) error { return fn(WithTx(ctx, tx), tx) })
}
