// shift-point
package shop

import "regexp"

// TrackingLink checks a tracking reference against the carrier's configured
// pattern; regexp.MustCompile panics inside the standard library on a bad one.
func (s *Shop) TrackingLink(carrier, ref string) string {
	// shift-point
	pattern := regexp.MustCompile(s.Carriers[carrier])
	// shift-point
	return pattern.FindString(ref)
}
