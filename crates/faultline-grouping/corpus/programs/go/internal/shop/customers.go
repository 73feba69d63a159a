// shift-point
package shop

// LoadCustomer looks a customer up; an unknown id dereferences nil.
func (s *Shop) LoadCustomer(customerID string) Customer {
	// shift-point
	record := s.Customers[customerID]
	// shift-point
	return Customer{ID: customerID, Email: record.Email}
}
