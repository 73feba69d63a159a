// shift-point
package com.acme.shop;

import java.util.Map;

/** HTTP-handler-like entry points. */
final class Api {
    private Api() {}

    private static int tenantSettings(Map<String, String> headers) {
        // shift-point
        return Settings.readPageSize(headers.get("x-tenant-settings"));
    }

    static String handleCreateOrder(Shop shop, Map<String, String> headers, String body) {
        // shift-point
        tenantSettings(headers);
        Map<String, String> order = Payload.parse(body);
        // shift-point
        return "201 " + Orders.placeOrder(shop, order);
    }

    static String handleUpdateOrder(Shop shop, Map<String, String> headers, String body) {
        // shift-point
        tenantSettings(headers);
        // shift-point
        return "200 " + Orders.amendOrder(shop, Payload.parse(body));
    }
}
