// shift-point
package com.acme.shop;

import java.util.Map;

final class Inventory {
    private Inventory() {}

    static int reserve(Map<String, Integer> stock, String sku, int qty) {
        // shift-point
        try {
            int level = stock.get(sku);
            stock.put(sku, level - qty);
            return level - qty;
        } catch (NullPointerException e) {
            // shift-point
            throw new InventoryException("cannot reserve " + qty + " x " + sku + ": unknown SKU", e);
        }
    }
}
