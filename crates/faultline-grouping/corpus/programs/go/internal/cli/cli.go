// shift-point
// Package cli is the `shop import SETTINGS_JSON ORDER_JSON` command.
package cli

import "example.com/shop/internal/shop"

// ImportCommand imports one order from the command line.
func ImportCommand(s *shop.Shop, argv []string) string {
	// shift-point
	settingsJSON, orderJSON := argv[2], argv[3]
	shop.ReadSettings(settingsJSON)
	// shift-point
	order := shop.ParseOrderPayload(orderJSON)
	// shift-point
	return s.PlaceOrder(order)
}
