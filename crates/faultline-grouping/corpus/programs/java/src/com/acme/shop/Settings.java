// shift-point
package com.acme.shop;

import java.util.Map;

final class Settings {
    private Settings() {}

    static int readPageSize(String raw) {
        // shift-point
        Map<String, String> settings = Payload.parse(raw);
        // shift-point
        return Integer.parseInt(settings.getOrDefault("pageSize", "50"));
    }
}
