// shift-point
package com.acme.shop;

import java.util.HashMap;
import java.util.Map;

/** The application's state, as a request would see it. */
final class Shop {
    final Map<String, Customers.Customer> customers = new HashMap<>();
    final Map<String, Integer> stock = new HashMap<>(Map.of("SKU-1", 100, "SKU-2", 5));
    final Map<String, String> categories = new HashMap<>(
            Map.of("shoes", "apparel", "loop-a", "loop-b", "loop-b", "loop-a"));
}
