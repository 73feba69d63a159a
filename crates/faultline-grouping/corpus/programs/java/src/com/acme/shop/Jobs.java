// shift-point
package com.acme.shop;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A background job: nightly order sync. */
final class Jobs {
    private Jobs() {}

    private static String syncRow(Shop shop, Map<String, String> row) {
        // shift-point
        return Orders.placeOrder(shop, row);
    }

    static List<String> nightlySync(Shop shop, String config, List<Map<String, String>> rows) {
        // shift-point
        Settings.readPageSize(config);
        List<String> results = new ArrayList<>();
        // shift-point
        rows.forEach(row -> results.add(syncRow(shop, row)));
        return results;
    }
}
