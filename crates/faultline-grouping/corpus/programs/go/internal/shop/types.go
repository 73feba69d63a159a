// shift-point
// Package shop is a tiny shop whose bugs feed Faultline's grouping corpus.
package shop

import "fmt"

// Order is what every entry point places or amends.
type Order struct {
	ID          string `json:"id"`
	Qty         int    `json:"qty"`
	Email       string `json:"email"`
	CustomerID  string `json:"customer_id"`
	SKU         string `json:"sku"`
	Category    string `json:"category"`
	Amount      int    `json:"amount"`
	Card        string `json:"card"`
	Carrier     string `json:"carrier"`
	TrackingRef string `json:"tracking_ref"`
	// Items arrive as a JSON string inside the order (a form field).
	Items string `json:"items"`
}

// Customer is a customer record.
type Customer struct {
	ID    string
	Email string
}

// Shop is the application's state, as a request would see it.
type Shop struct {
	Customers  map[string]*Customer
	Stock      map[string]int
	Categories map[string]string
	// Carrier name -> tracking reference pattern, as configured by staff.
	Carriers map[string]string
}

// ValidationError is a rejected input field.
type ValidationError struct {
	Field, Reason string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }
