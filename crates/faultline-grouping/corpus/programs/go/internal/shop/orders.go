// shift-point
package shop

import (
	"encoding/json"
	"fmt"
)

// ParseOrderPayload decodes a request body.
func ParseOrderPayload(raw string) Order {
	// shift-point
	var order Order
	if err := json.Unmarshal([]byte(raw), &order); err != nil {
		// shift-point
		panic(fmt.Errorf("decode order payload: %w", err))
	}
	return order
}

// ParseLineItems decodes the order's line items.
func ParseLineItems(order Order) []map[string]any {
	// shift-point
	var items []map[string]any
	if err := json.Unmarshal([]byte(order.Items), &items); err != nil {
		// shift-point
		panic(fmt.Errorf("decode line items: %w", err))
	}
	return items
}

// CheckQuantity rejects non-positive quantities.
func CheckQuantity(orderID string, qty int) int {
	// shift-point
	if qty <= 0 {
		// shift-point
		panic(&ValidationError{Field: "qty", Reason: fmt.Sprintf("must be positive for order %s, got %d", orderID, qty)})
	}
	return qty
}

// PlaceOrder is the full checkout.
func (s *Shop) PlaceOrder(order Order) string {
	// shift-point
	CheckQuantity(order.ID, order.Qty)
	ParseLineItems(order)
	CheckEmail(order.Email)
	customer := s.LoadCustomer(order.CustomerID)
	// shift-point
	s.Reserve(order.SKU, order.Qty)
	s.CategoryPath(order.Category)
	// shift-point
	Charge(customer, order.Amount, order.Card)
	return s.TrackingLink(order.Carrier, order.TrackingRef)
}

// AmendOrder re-validates and re-charges an existing order.
func (s *Shop) AmendOrder(order Order) string {
	// shift-point
	customer := s.LoadCustomer(order.CustomerID)
	CheckEmail(order.Email)
	// shift-point
	CheckQuantity(order.ID, order.Qty)
	ParseLineItems(order)
	s.Reserve(order.SKU, order.Qty)
	// shift-point
	return Charge(customer, order.Amount, order.Card)
}
