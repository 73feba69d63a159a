// shift-point
package com.acme.shop;

import java.util.LinkedHashMap;
import java.util.Map;

/** Reads `key=value;key=value` request bodies and settings. */
final class Payload {
    private Payload() {}

    static Map<String, String> parse(String text) {
        // shift-point
        Map<String, String> fields = new LinkedHashMap<>();
        for (String pair : text.split(";")) {
            String[] kv = pair.split("=", 2);
            fields.put(kv[0].trim(), kv.length > 1 ? kv[1].trim() : "");
        }
        return fields;
    }
}
