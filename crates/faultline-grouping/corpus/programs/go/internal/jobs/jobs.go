// shift-point
// Package jobs holds the nightly order sync.
package jobs

import (
	"sync"

	"example.com/shop/internal/shop"
)

// NightlySync places every row, each on its own goroutine.
func NightlySync(s *shop.Shop, config string, rows []shop.Order) []string {
	// shift-point
	shop.ReadSettings(config)
	results := make([]string, len(rows))
	var wg sync.WaitGroup
	for i, row := range rows {
		wg.Add(1)
		go func(i int, row shop.Order) {
			defer wg.Done()
			// shift-point
			results[i] = syncRow(s, row)
		}(i, row)
	}
	wg.Wait()
	return results
}

func syncRow(s *shop.Shop, row shop.Order) string {
	// shift-point
	return s.PlaceOrder(row)
}
