package users

// Prepared reports how many statements s keeps prepared, and false when it
// prepares none (not SQLite).
func Prepared[U any](s *Users[U]) (int, bool) {
	if s.prep == nil {
		return 0, false
	}
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	return len(s.prep.m), true
}
