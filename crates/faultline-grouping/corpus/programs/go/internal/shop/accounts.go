// shift-point
package shop

import (
	"fmt"
	"regexp"
)

var email = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-z]{2,}$`)

// CheckEmail rejects malformed addresses.
func CheckEmail(address string) string {
	// shift-point
	if !email.MatchString(address) {
		// shift-point
		panic(&ValidationError{Field: "email", Reason: fmt.Sprintf("%q is not an address", address)})
	}
	return address
}
