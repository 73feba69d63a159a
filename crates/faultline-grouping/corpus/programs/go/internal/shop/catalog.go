// shift-point
package shop

// CategoryPath walks up the category tree; a cycle overflows the stack.
func (s *Shop) CategoryPath(name string) []string {
	// shift-point
	parent, ok := s.Categories[name]
	if !ok {
		return []string{name}
	}
	// shift-point
	return append(s.CategoryPath(parent), name)
}
