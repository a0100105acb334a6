package dblog

// This file's name ends in ".gen.go" on purpose: GORM's loggers print the
// file and line of the first caller outside GORM (utils.FileWithLineNum),
// skipping files named *.gen.go (go-gorm/gen's output). Keeping the
// forwarding methods here makes log lines point at restauth's statement,
// not at this package. TestLogLinePointsAtCaller checks it.

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Info, Warn and Error forward msg with every error in data sanitized.
func (w *wrapped) Info(ctx context.Context, msg string, data ...interface{}) {
	w.l.Info(ctx, msg, sanitizeArgs(data)...)
}

func (w *wrapped) Warn(ctx context.Context, msg string, data ...interface{}) {
	w.l.Warn(ctx, msg, sanitizeArgs(data)...)
}

func (w *wrapped) Error(ctx context.Context, msg string, data ...interface{}) {
	w.l.Error(ctx, msg, sanitizeArgs(data)...)
}

// Trace forwards a statement. gorm.ErrRecordNotFound becomes nil. Any
// other error is replaced, for the log only, by one whose text is:
//
//   - for a PostgreSQL error, "SEVERITY: message (SQLSTATE code)" as pgconn
//     writes it — which never includes the Detail line, where PostgreSQL
//     quotes values ("Key (email)=(…) already exists") — and with the
//     message itself withheld unless its SQLSTATE class only names objects
//     (see pgSafeClass): class 22 messages, for one, quote the bad input;
//   - for a SQLite error, SQLite's own message, which names tables,
//     columns and indexes but never bound values;
//   - for GORM, database/sql, driver and context sentinel errors, the
//     sentinel's fixed text, plus "(details withheld)" when the error added
//     text to it (GORM writes whole structs into some of its errors);
//   - for a network error, its text (operation and addresses);
//   - otherwise a fixed text naming only the error's type: pgx, for one,
//     quotes an argument it cannot encode.
func (w *wrapped) Trace(ctx context.Context, begin time.Time, fc func() (sql string, rowsAffected int64), err error) {
	if err != nil && errors.Is(err, gorm.ErrRecordNotFound) && err.Error() == gorm.ErrRecordNotFound.Error() {
		err = nil
	}
	w.l.Trace(ctx, begin, fc, sanitize(err))
}
