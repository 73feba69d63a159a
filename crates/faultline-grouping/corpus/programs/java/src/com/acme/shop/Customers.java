// shift-point
package com.acme.shop;

import java.util.Map;

final class Customers {
    record Customer(String id, String email) {}

    private Customers() {}

    static Customer loadCustomer(Map<String, Customer> customers, String customerId) {
        // shift-point
        String email = customers.get(customerId).email();
        // shift-point
        return new Customer(customerId, email);
    }
}
