// shift-point
package shop

import (
	"errors"
	"fmt"
)

// ErrUnknownSKU is wrapped when stock has no record for a SKU.
var ErrUnknownSKU = errors.New("unknown SKU")

// Reserve takes qty items of sku out of stock.
func (s *Shop) Reserve(sku string, qty int) int {
	// shift-point
	level, ok := s.Stock[sku]
	if !ok {
		// shift-point
		panic(fmt.Errorf("cannot reserve %d x %s: %w", qty, sku, ErrUnknownSKU))
	}
	s.Stock[sku] = level - qty
	return level - qty
}
