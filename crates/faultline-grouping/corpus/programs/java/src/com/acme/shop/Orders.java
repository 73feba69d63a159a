// shift-point
package com.acme.shop;

import java.util.Map;

/** The order service: what every entry point goes through. */
final class Orders {
    private Orders() {}

    static int parseQuantity(Map<String, String> order) {
        // shift-point
        return Integer.parseInt(order.get("qty"));
    }

    static int parseAmount(Map<String, String> order) {
        // shift-point
        return Integer.parseInt(order.get("amount"));
    }

    static int checkQuantity(String orderId, int qty) {
        // shift-point
        if (qty <= 0) {
            // shift-point
            throw new IllegalArgumentException("quantity must be positive for order " + orderId + ", got " + qty);
        }
        return qty;
    }

    static String placeOrder(Shop shop, Map<String, String> order) {
        // shift-point
        int qty = checkQuantity(order.get("id"), parseQuantity(order));
        Accounts.checkEmail(order.get("email"));
        Customers.Customer customer = Customers.loadCustomer(shop.customers, order.get("customer"));
        // shift-point
        Inventory.reserve(shop.stock, order.get("sku"), qty);
        Catalog.categoryPath(shop.categories, order.get("category"));
        // shift-point
        Payments.charge(customer, parseAmount(order), order.get("card"));
        return Shipping.parseShipDate(order.get("ship")).toString();
    }

    static String amendOrder(Shop shop, Map<String, String> order) {
        // shift-point
        Customers.Customer customer = Customers.loadCustomer(shop.customers, order.get("customer"));
        Accounts.checkEmail(order.get("email"));
        // shift-point
        int qty = checkQuantity(order.get("id"), parseQuantity(order));
        Inventory.reserve(shop.stock, order.get("sku"), qty);
        // shift-point
        return Payments.charge(customer, parseAmount(order), order.get("card"));
    }
}
