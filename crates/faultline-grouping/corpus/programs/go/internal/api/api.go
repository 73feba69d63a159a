// shift-point
// Package api holds HTTP-handler-like entry points.
package api

import "example.com/shop/internal/shop"

// Request is what a handler receives.
type Request struct {
	Headers map[string]string
	Body    string
}

// Server serves orders.
type Server struct {
	Shop *shop.Shop
}

func (srv *Server) tenantSettings(req Request) map[string]any {
	// shift-point
	return shop.ReadSettings(req.Headers["x-tenant-settings"])
}

// HandleCreateOrder places a new order.
func (srv *Server) HandleCreateOrder(req Request) (int, string) {
	// shift-point
	srv.tenantSettings(req)
	order := shop.ParseOrderPayload(req.Body)
	// shift-point
	return 201, srv.Shop.PlaceOrder(order)
}

// HandleUpdateOrder amends an order.
func (srv *Server) HandleUpdateOrder(req Request) (int, string) {
	// shift-point
	srv.tenantSettings(req)
	// shift-point
	patch := shop.ParseOrderPayload(req.Body)
	return 200, srv.Shop.AmendOrder(patch)
}
