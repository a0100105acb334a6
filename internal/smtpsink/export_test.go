package smtpsink

// WithStallNotify makes the sink send on ch each stage at which a stall
// starts, once it has decided not to answer; a full ch drops the news.
func WithStallNotify(ch chan<- Stage) Option {
	return func(c *config) { c.stalled = ch }
}
