package mail

// ErrUnknownTemplate lets the external tests recognise the error Send
// returns for a name it does not know.
var ErrUnknownTemplate = errUnknownTemplate
